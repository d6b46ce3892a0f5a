// Locates and loads the conformance fixtures. Two roots are checked: the repo's own reference
// (Tests/Fixtures/reference, written by Scripts/make-fixtures.sh), always, and an external one when there is
// one: $LODESTONE_FIXTURES (which must then exist), else ../shared/fixtures beside the package if present.
// Every directory with a config.json under a root is a model case; a case that fails to load is a failure.
import Foundation
import XCTest
@testable import LodestoneCore

enum FixtureRoots {
    /// The package root, found from this file's path (Tests/ConformanceTests/ModelFixtures.swift).
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The repo's own reference fixtures.
    static let repo = packageRoot.appendingPathComponent("Tests/Fixtures/reference")

    /// $LODESTONE_FIXTURES (an error when set to a directory that is not there), else ../shared/fixtures when present.
    static func external() throws -> URL? {
        if let env = ProcessInfo.processInfo.environment["LODESTONE_FIXTURES"], !env.isEmpty {
            let url = URL(fileURLWithPath: env).standardizedFileURL
            guard isDirectory(url) else { throw fixtureError("LODESTONE_FIXTURES=\(env): no such directory") }
            return url
        }
        let shared = packageRoot.deletingLastPathComponent().appendingPathComponent("shared/fixtures").standardizedFileURL
        return isDirectory(shared) ? shared : nil
    }

    /// The repo's root first, then the external one (unless it is the same directory).
    static func all() throws -> [URL] {
        guard isDirectory(repo) else { throw fixtureError("\(repo.path): the repo's reference fixtures are missing (Scripts/make-fixtures.sh writes them)") }
        guard let other = try external(), other.resolvingSymlinksInPath() != repo.resolvingSymlinksInPath() else { return [repo] }
        return [repo, other]
    }

    /// A file every root must have when it is the repo's, and may have otherwise: nil for an external root without it.
    static func file(_ relativePath: String, in root: URL) throws -> URL? {
        let url = root.appendingPathComponent(relativePath)
        if FileManager.default.fileExists(atPath: url.path) { return url }
        if root == repo { throw fixtureError("\(url.path): missing from the repo's reference fixtures") }
        return nil
    }

    /// How failure messages name a root: relative to the package when inside it, else its full path.
    static func label(_ url: URL) -> String {
        let base = packageRoot.standardizedFileURL.path + "/"
        let path = url.standardizedFileURL.path
        return path.hasPrefix(base) ? String(path.dropFirst(base.count)) : path
    }

    static func isDirectory(_ url: URL) -> Bool {
        var directory: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &directory) && directory.boolValue
    }
}

/// A fixture that is missing or does not load: one line naming the file.
struct FixtureError: Error, CustomStringConvertible {
    let description: String
}

func fixtureError(_ message: String) -> FixtureError { FixtureError(description: message) }

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

    /// Every model case under every root; a root without any is a failure (thrown), as is a case that fails to load.
    static func all() throws -> [URL] {
        var cases: [URL] = []
        for root in try FixtureRoots.all() {
            let dirs = try FileManager.default.contentsOfDirectory(at: root, includingPropertiesForKeys: nil)
                .filter { FileManager.default.fileExists(atPath: $0.appendingPathComponent("config.json").path) }
                .sorted { $0.lastPathComponent < $1.lastPathComponent }
            if dirs.isEmpty { throw fixtureError("\(root.path): no model cases (directories with a config.json)") }
            cases += dirs
        }
        return cases
    }

    init(directory: URL) throws {
        self.directory = directory
        name = FixtureRoots.label(directory)
        config = try EncoderConfig(contentsOf: directory.appendingPathComponent("config.json"))
        let data = try Data(contentsOf: directory.appendingPathComponent("case.json"))
        guard let json = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              let texts = json["columns"] as? [[Any]], let ids = json["input_ids_each"] as? [[NSNumber]] else {
            throw fixtureError("\(directory.path)/case.json: missing columns or input_ids_each")
        }
        caseJSON = json
        var all = ids.map { $0.map { Int32(truncating: $0) } }[...]
        var cols: [[[Int32]]] = []
        for col in texts {
            cols.append(Array(all.prefix(col.count)))
            all = all.dropFirst(col.count)
        }
        guard all.isEmpty else { throw fixtureError("\(directory.path)/case.json: input_ids_each has more rows than the columns") }
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
            throw fixtureError("\(name): expected.safetensors lacks '\(key)'")
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
