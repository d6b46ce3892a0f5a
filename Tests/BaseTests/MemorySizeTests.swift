// Memory sizes as users type them for --memory-budget, and as the plan prints them.
import XCTest
@testable import LodestoneBase

final class MemorySizeTests: XCTestCase {
    func testSizesPeopleWriteAreBinaryUnits() {
        XCTAssertEqual(parseMemorySize("512M"), 512 * 1024 * 1024)
        XCTAssertEqual(parseMemorySize("6G"), 6 * 1024 * 1024 * 1024)
        XCTAssertEqual(parseMemorySize("6GiB"), 6 * 1024 * 1024 * 1024)
        XCTAssertEqual(parseMemorySize("6gb"), 6 * 1024 * 1024 * 1024)
        XCTAssertEqual(parseMemorySize("1.5G"), 3 * 512 * 1024 * 1024)
        XCTAssertEqual(parseMemorySize(" 800 MB "), 800 * 1024 * 1024)
        XCTAssertEqual(parseMemorySize("64K"), 65536)
        XCTAssertEqual(parseMemorySize("1073741824"), 1 << 30)
        XCTAssertEqual(parseMemorySize("100B"), 100)
    }

    func testNonsenseIsRefused() {
        for text in ["", "G", "6 gigs", "6X", "-1G", "0", "0.1", "1e400", "1..5G", "6GG"] {
            XCTAssertNil(parseMemorySize(text), text)
        }
    }

    func testFormatting() {
        XCTAssertEqual(formatMemory(512), "512 B")
        XCTAssertEqual(formatMemory(100 << 20), "100.0 MiB")
        XCTAssertEqual(formatMemory(3 << 29), "1.5 GiB")
    }
}
