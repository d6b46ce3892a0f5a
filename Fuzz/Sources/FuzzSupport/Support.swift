// What every harness shares: the fuzz input as a file (the parsers read paths, as the steps do), as a byte stream,
// and wrapped in the containers the parsers open (a stored zip for the pickle machine). A parser that throws has
// done its job; a crash, a Swift trap or an AddressSanitizer report is a finding.
import Foundation
import LodestoneCore

/// Calls `body` on libFuzzer's bytes; thrown errors are the expected answer to bad input.
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int, _ body: (Data) throws -> Void) -> Int32 {
    let bytes = size > 0 && data != nil ? Data(bytes: data!, count: size) : Data()
    do { try body(bytes) } catch {
        let message = "\(error)"   // built for every input: it formats offsets and fields taken from the input
        if verbose { FileHandle.standardError.write(Data("refused: \(message)\n".utf8)) }
    }
    return 0
}

/// FUZZ_VERBOSE=1 prints each refusal (to check that the seeds parse: `fuzz-npy -runs=0 corpus/npy`).
private let verbose = ProcessInfo.processInfo.environment["FUZZ_VERBOSE"] != nil

/// One scratch directory per process (libFuzzer forks workers with -jobs), emptied and reused every input.
public let scratch: URL = {
    let base = ProcessInfo.processInfo.environment["FUZZ_SCRATCH"] ?? NSTemporaryDirectory()
    let dir = URL(fileURLWithPath: base).appendingPathComponent("lodestone-fuzz-\(getpid())")
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}()

/// Writes `bytes` to `name` in the scratch directory and returns its URL.
public func scratchFile(_ name: String, _ bytes: Data) -> URL {
    let url = scratch.appendingPathComponent(name)
    try? FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    FileManager.default.createFile(atPath: url.path, contents: bytes)
    return url
}

/// Splits the input at the first 0x00 byte: harnesses that need two files (a directory's parts) take them this way.
public func split(_ bytes: Data, parts: Int) -> [Data] {
    var out: [Data] = []
    var rest = bytes[...]
    while out.count < parts - 1, let cut = rest.firstIndex(of: 0) {
        out.append(Data(rest[..<cut])); rest = rest[(cut + 1)...]
    }
    out.append(Data(rest))
    while out.count < parts { out.append(Data()) }
    return out
}

/// Bytes in memory as the stream `GzipLineReader` pulls from, in reads of uneven sizes as a network gives them.
public final class FuzzByteReader: ByteReader {
    private let bytes: Data
    private var offset = 0, turn = 0
    public init(_ bytes: Data) { self.bytes = bytes }
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        turn += 1
        let n = min(buffer.count, bytes.count - offset, turn % 3 == 0 ? 7 : 4096)
        guard n > 0 else { return 0 }
        bytes.copyBytes(to: buffer.bindMemory(to: UInt8.self), from: (bytes.startIndex + offset)..<(bytes.startIndex + offset + n))
        offset += n
        return n
    }
    public func close() {}
}

/// A zip archive of stored (uncompressed) entries, as `torch.save` writes `pytorch_model.bin`.
public func storedZip(_ entries: [(name: String, bytes: Data)]) -> Data {
    var out = Data(), central = Data()
    func le16(_ v: Int, _ d: inout Data) { d.append(UInt8(v & 0xff)); d.append(UInt8((v >> 8) & 0xff)) }
    func le32(_ v: UInt32, _ d: inout Data) { for s in stride(from: 0, to: 32, by: 8) { d.append(UInt8((v >> UInt32(s)) & 0xff)) } }
    for entry in entries {
        let offset = UInt32(out.count), name = Data(entry.name.utf8), crc = crc32(entry.bytes), size = UInt32(entry.bytes.count)
        le32(0x04034b50, &out); le16(20, &out); le16(0, &out); le16(0, &out); le16(0, &out); le16(0, &out)
        le32(crc, &out); le32(size, &out); le32(size, &out); le16(name.count, &out); le16(0, &out)
        out.append(name); out.append(entry.bytes)
        le32(0x02014b50, &central); le16(20, &central); le16(20, &central); le16(0, &central); le16(0, &central)
        le16(0, &central); le16(0, &central); le32(crc, &central); le32(size, &central); le32(size, &central)
        le16(name.count, &central); le16(0, &central); le16(0, &central); le16(0, &central); le16(0, &central)
        le32(0, &central); le32(offset, &central); central.append(name)
    }
    let centralOffset = UInt32(out.count)
    out.append(central)
    le32(0x06054b50, &out); le16(0, &out); le16(0, &out); le16(entries.count, &out); le16(entries.count, &out)
    le32(UInt32(central.count), &out); le32(centralOffset, &out); le16(0, &out)
    return out
}

private let crcTable: [UInt32] = (0..<256).map { n -> UInt32 in
    var c = UInt32(n)
    for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1 }
    return c
}

func crc32(_ bytes: Data) -> UInt32 {
    ~bytes.reduce(~UInt32(0)) { crcTable[Int(($0 ^ UInt32($1)) & 0xff)] ^ ($0 >> 8) }
}
