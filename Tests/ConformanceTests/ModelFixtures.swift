// Locates and loads the model cases under the fixtures root ($LODESTONE_FIXTURES, else ../shared/fixtures
// relative to the package root found from this file's path). Every directory with a config.json is a case.
import Foundation
import XCTest
@testable import LodestoneCore

struct ModelCase {
    let name: String
    let directory: URL
    let config: EncoderConfig
    let columns: [[[Int32]]]
    let expected: [String: TensorData]
    let optimizer: [String: Any]
    let schedule: [String: Any]
    let parameterNames: [String]
    let caseJSON: [String: Any]

    static var fixturesRoot: URL {
        if let env = ProcessInfo.processInfo.environment["LODESTONE_FIXTURES"], !env.isEmpty {
            return URL(fileURLWithPath: env)
        }
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return packageRoot.deletingLastPathComponent().appendingPathComponent("shared/fixtures")
    }

    /// Every case directory with a model; a directory that fails to load is a test failure (thrown).
    static func all() throws -> [URL] {
        let root = fixturesRoot
        let dirs = try FileManager.default.contentsOfDirectory(at: root, includingPropertiesForKeys: nil)
            .filter { FileManager.default.fileExists(atPath: $0.appendingPathComponent("config.json").path) }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
        return dirs
    }

    init(directory: URL) throws {
        self.directory = directory
        name = directory.lastPathComponent
        config = try EncoderConfig(contentsOf: directory.appendingPathComponent("config.json"))
        let data = try Data(contentsOf: directory.appendingPathComponent("case.json"))
        guard let json = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              let texts = json["columns"] as? [[Any]], let ids = json["input_ids_each"] as? [[NSNumber]] else {
            throw NSError(domain: "fixture", code: 1, userInfo: [NSLocalizedDescriptionKey: "\(directory.path)/case.json: missing columns or input_ids_each"])
        }
        caseJSON = json
        var all = ids.map { $0.map { Int32(truncating: $0) } }[...]
        var cols: [[[Int32]]] = []
        for col in texts {
            cols.append(Array(all.prefix(col.count)))
            all = all.dropFirst(col.count)
        }
        precondition(all.isEmpty, "input_ids_each has more rows than the columns")
        columns = cols
        expected = try SafeTensors.read(directory.appendingPathComponent("expected.safetensors"))
        optimizer = json["optimizer"] as? [String: Any] ?? [:]
        schedule = json["schedule"] as? [String: Any] ?? [:]
        parameterNames = json["parameter_names"] as? [String] ?? []
    }

    func loadEncoder() throws -> SentenceEncoder {
        try SentenceEncoder(config: config, weights: SafeTensors.read(directory.appendingPathComponent("model.safetensors")))
    }

    func expect(_ key: String) throws -> TensorData {
        guard let t = expected[key] else {
            throw NSError(domain: "fixture", code: 2, userInfo: [NSLocalizedDescriptionKey: "\(name): expected.safetensors lacks '\(key)'"])
        }
        return t
    }
}

/// Max violation of |a − e| ≤ max(abs, rel·|e|); reports the first offending index.
func assertClose(_ actual: [Float], _ expected: [Float], abs: Float, rel: Float = 0, _ what: String,
                 file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(actual.count, expected.count, "\(what): count", file: file, line: line)
    guard actual.count == expected.count else { return }
    var worst: Float = 0, worstIndex = -1
    for i in 0..<actual.count {
        let tol = max(abs, rel * Swift.abs(expected[i]))
        let err = Swift.abs(actual[i] - expected[i])
        if !(err <= tol) && (worstIndex < 0 || err - tol > worst) { worst = err - tol; worstIndex = i }
    }
    if worstIndex >= 0 {
        XCTFail("\(what): index \(worstIndex) is \(actual[worstIndex]), expected \(expected[worstIndex]) (tolerance abs \(abs) rel \(rel))",
                file: file, line: line)
    }
}
