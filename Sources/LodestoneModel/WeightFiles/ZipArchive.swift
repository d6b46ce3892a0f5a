// A read-only zip archive, enough for PyTorch checkpoints: the central directory (ZIP64 too) is read
// straight from the memory-mapped file; stored entries are sliced in place, deflated ones inflated by zlib.
import Foundation
import CZlib

public enum ZipError: Error, CustomStringConvertible {
    case unreadable(file: String, reason: String)
    case malformed(file: String, offset: Int, reason: String)
    case missingEntry(file: String, name: String)
    case unsupported(file: String, entry: String, reason: String)

    public var description: String {
        switch self {
        case let .unreadable(file, reason): return "\(file): cannot read zip archive: \(reason)"
        case let .malformed(file, offset, reason): return "\(file): offset \(offset): bad zip archive: \(reason)"
        case let .missingEntry(file, name): return "\(file): zip archive has no entry \(name)"
        case let .unsupported(file, entry, reason): return "\(file): entry \(entry): \(reason)"
        }
    }
}

public struct ZipEntry {
    public let name: String
    public let method: UInt16
    public let compressedSize: Int
    public let size: Int
    let localHeaderOffset: Int
}

public final class ZipArchive {
    public let path: String
    public private(set) var entries: [String: ZipEntry] = [:]
    public private(set) var names: [String] = []
    private let data: Data

    public init(url: URL) throws {
        path = url.path
        do { data = try Data(contentsOf: url, options: .alwaysMapped) } catch {
            throw ZipError.unreadable(file: url.path, reason: error.localizedDescription)
        }
        try readCentralDirectory()
    }

    private func u16(_ o: Int) throws -> Int {
        guard o >= 0, o + 2 <= data.count else { throw ZipError.malformed(file: path, offset: o, reason: "truncated") }
        return Int(data[data.startIndex + o]) | Int(data[data.startIndex + o + 1]) << 8
    }
    private func u32(_ o: Int) throws -> Int { try (u16(o) | u16(o + 2) << 16) }
    private func u64(_ o: Int) throws -> Int {
        let high = try u32(o + 4)
        // A ZIP64 value past Int.max is past any file this process can map.
        guard high < 0x8000_0000 else { throw ZipError.malformed(file: path, offset: o, reason: "64-bit value past Int.max") }
        return try u32(o) | high << 32
    }

    private func readCentralDirectory() throws {
        // The end-of-central-directory record sits in the last 64 KiB + 22 bytes.
        let n = data.count
        guard n >= 22 else { throw ZipError.malformed(file: path, offset: n, reason: "too short for a zip archive (truncated?)") }
        var eocd = -1
        var o = n - 22
        while o >= max(0, n - 22 - 65_535) {
            if try u32(o) == 0x0605_4b50 { eocd = o; break }
            o -= 1
        }
        guard eocd >= 0 else { throw ZipError.malformed(file: path, offset: n, reason: "no end-of-central-directory record (truncated?)") }
        var count = try u16(eocd + 10)
        var cdOffset = try u32(eocd + 16)
        if (cdOffset == 0xFFFF_FFFF || count == 0xFFFF), eocd >= 20, try u32(eocd - 20) == 0x0706_4b50 {
            let z64 = try u64(eocd - 20 + 8)
            guard try u32(z64) == 0x0606_4b50 else { throw ZipError.malformed(file: path, offset: z64, reason: "bad ZIP64 end record") }
            count = try u64(z64 + 32)
            cdOffset = try u64(z64 + 48)
        }
        // Each central entry takes at least 46 bytes: a larger count is a lie, not a reason to loop.
        guard count <= n / 46 else { throw ZipError.malformed(file: path, offset: eocd, reason: "\(count) entries cannot fit in \(n) bytes") }
        var p = cdOffset
        for _ in 0..<count {
            guard try u32(p) == 0x0201_4b50 else {
                throw ZipError.malformed(file: path, offset: p, reason: "bad central directory entry (truncated?)")
            }
            let method = UInt16(try u16(p + 10))
            var compressed = try u32(p + 20), size = try u32(p + 24)
            let nameLength = try u16(p + 28), extraLength = try u16(p + 30), commentLength = try u16(p + 32)
            var local = try u32(p + 42)
            guard p + 46 + nameLength <= n else { throw ZipError.malformed(file: path, offset: p, reason: "entry name past end") }
            let nameStart = data.startIndex + p + 46
            let name = String(decoding: data[nameStart..<nameStart + nameLength], as: UTF8.self)
            // ZIP64 extra field: the 64-bit values replace, in order, those stored as 0xFFFFFFFF.
            var e = p + 46 + nameLength
            let extraEnd = e + extraLength
            while e + 4 <= extraEnd {
                let tag = try u16(e), length = try u16(e + 2)
                if tag == 0x0001 {
                    var q = e + 4
                    if size == 0xFFFF_FFFF { size = try u64(q); q += 8 }
                    if compressed == 0xFFFF_FFFF { compressed = try u64(q); q += 8 }
                    if local == 0xFFFF_FFFF { local = try u64(q) }
                }
                e += 4 + length
            }
            let entry = ZipEntry(name: name, method: method, compressedSize: compressed, size: size, localHeaderOffset: local)
            entries[name] = entry
            names.append(name)
            p = extraEnd + commentLength
        }
    }

    /// The uncompressed bytes of one entry, lent to `body` (no copy for stored entries).
    public func withContents<T>(of name: String, _ body: (UnsafeRawBufferPointer) throws -> T) throws -> T {
        guard let entry = entries[name] else { throw ZipError.missingEntry(file: path, name: name) }
        let h = entry.localHeaderOffset
        guard try u32(h) == 0x0403_4b50 else { throw ZipError.malformed(file: path, offset: h, reason: "bad local header of \(name)") }
        let start = try h + 30 + u16(h + 26) + u16(h + 28)
        // Compared without forming start + size, which a stranger's size could overflow.
        guard start <= data.count, entry.compressedSize <= data.count - start else {
            throw ZipError.malformed(file: path, offset: start, reason: "entry \(name) runs past the end of the file (truncated?)")
        }
        return try data.withUnsafeBytes { raw in
            let slice = UnsafeRawBufferPointer(rebasing: raw[start..<start + entry.compressedSize])
            switch entry.method {
            case 0: return try body(slice)
            case 8:
                // Deflate expands at most 1032:1, so a larger claimed size is refused before it is allocated.
                guard entry.size <= entry.compressedSize * 1032 + 1024, entry.size <= Int(UInt32.max),
                      entry.compressedSize <= Int(UInt32.max) else {
                    throw ZipError.unsupported(file: path, entry: name,
                        reason: "deflated entry claims \(entry.size) bytes from \(entry.compressedSize) (more than deflate yields, or past 4 GiB)")
                }
                let inflated = try inflate(slice, size: entry.size, name: name)
                return try inflated.withUnsafeBytes { try body($0) }
            default:
                throw ZipError.unsupported(file: path, entry: name, reason: "compression method \(entry.method)")
            }
        }
    }

    public func contents(of name: String) throws -> [UInt8] {
        try withContents(of: name) { Array($0) }
    }

    private func inflate(_ input: UnsafeRawBufferPointer, size: Int, name: String) throws -> [UInt8] {
        var output = [UInt8](repeating: 0, count: size)
        var stream = z_stream()
        guard lodestone_inflate_init2(&stream, -15) == Z_OK else {
            throw ZipError.unsupported(file: path, entry: name, reason: "zlib init failed")
        }
        defer { inflateEnd(&stream) }
        let status: Int32 = output.withUnsafeMutableBytes { out in
            stream.next_in = UnsafeMutablePointer(mutating: input.bindMemory(to: UInt8.self).baseAddress)
            stream.avail_in = uInt(input.count)
            stream.next_out = out.bindMemory(to: UInt8.self).baseAddress
            stream.avail_out = uInt(size)
            return CZlib.inflate(&stream, Z_FINISH)
        }
        guard status == Z_STREAM_END, Int(stream.total_out) == size else {
            throw ZipError.malformed(file: path, offset: entry(name)?.localHeaderOffset ?? 0,
                                     reason: "entry \(name) does not inflate to \(size) bytes (zlib status \(status))")
        }
        return output
    }

    private func entry(_ name: String) -> ZipEntry? { entries[name] }
}
