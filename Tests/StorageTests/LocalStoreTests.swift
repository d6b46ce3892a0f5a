import XCTest
import LodestoneStorage

final class LocalStoreTests: XCTestCase {
    func testWriteIsAtomicAndListed() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ls-\(UUID())")
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try LocalStore(root: dir)
        try store.putData(key: "data/a.json.gz", Data("hello".utf8))
        struct Boom: Error {}
        XCTAssertThrowsError(try store.write(key: "data/b.json.gz", expectedSize: nil) { w in
            try Data("partial".utf8).withUnsafeBytes { try w.write($0) }
            throw Boom()
        })
        XCTAssertEqual(try store.list(prefix: "data/").map(\.key), ["data/a.json.gz"])
        XCTAssertEqual(String(decoding: try store.getData(key: "data/a.json.gz"), as: UTF8.self), "hello")
        let r = try store.openReader(key: "data/a.json.gz", range: 1..<4)
        var buf = [UInt8](repeating: 0, count: 10)
        let n = try buf.withUnsafeMutableBytes { try r.read(into: $0) }
        XCTAssertEqual(String(decoding: buf[0..<n], as: UTF8.self), "ell")
        XCTAssertThrowsError(try store.head(key: "../escape"))
    }
}
