// Training records as 02 counts and 04 reads them: a gzip stream of JSON lines (input starting with gzip's magic)
// or the JSON lines themselves, each through the counter and the example parser (all eight record formats).
import Foundation
import FuzzSupport
import LodestoneCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRecords(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    fuzz(data, size) { bytes in
        if bytes.starts(with: [0x1f, 0x8b]) {
            let reader = try GzipLineReader(FuzzByteReader(bytes), name: "fuzz.json.gz", windowSize: 64, inputSize: 16)
            _ = try countRecords(lines: reader, key: "fuzz.json.gz")
            return
        }
        for line in bytes.split(separator: 0x0a, omittingEmptySubsequences: false) {
            let copy = [UInt8](line)
            _ = copy.withUnsafeBytes { RecordParser.count(line: $0) }
            _ = try? copy.withUnsafeBytes { try RecordParser.examples(fromLine: $0) }
        }
    }
}
