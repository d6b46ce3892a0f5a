// Hand-built torch.save archives: pickle opcodes and a stored zip written byte by byte, so the expected
// tensors are known by construction rather than produced by the code under test.
import Foundation

struct PickleBuilder {
    var bytes: [UInt8] = [0x80, 2]
    mutating func op(_ b: UInt8) { bytes.append(b) }
    mutating func string(_ s: String) {
        let u = Array(s.utf8)
        op(0x58); le32(u.count); bytes += u
    }
    mutating func int(_ v: Int) { op(0x4A); le32(v) }
    mutating func global(_ module: String, _ name: String) { op(0x63); bytes += Array("\(module)\n\(name)\n".utf8) }
    mutating func tuple(_ items: [Int]) { op(0x28); for i in items { int(i) }; op(0x74) }
    mutating func le32(_ v: Int) { for k in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * k))) } }

    /// `name: _rebuild_tensor_v2(storage(type, key, numel), offset, shape, strides, False, OrderedDict())`
    mutating func tensor(_ name: String, storageType: String, key: String, numel: Int,
                         offset: Int, shape: [Int], strides: [Int]) {
        string(name)
        global("torch._utils", "_rebuild_tensor_v2")
        op(0x28)                                          // MARK (args)
        op(0x28); string("storage"); global("torch", storageType); string(key); string("cpu"); int(numel); op(0x74)
        op(0x51)                                          // BINPERSID
        int(offset); tuple(shape); tuple(strides)
        op(0x89)                                          // False
        global("collections", "OrderedDict"); op(0x29); op(0x52)
        op(0x74); op(0x52)                                // TUPLE, REDUCE
    }

    static func stateDict(_ body: (inout PickleBuilder) -> Void) -> [UInt8] {
        var p = PickleBuilder()
        p.op(0x7D); p.op(0x28)                            // EMPTY_DICT, MARK
        body(&p)
        p.op(0x75); p.op(0x2E)                            // SETITEMS, STOP
        return p.bytes
    }
}

/// A zip archive with stored (uncompressed) entries; CRCs are left 0 since the reader does not check them.
func storedZip(_ entries: [(String, [UInt8])]) -> [UInt8] {
    var out: [UInt8] = []
    var central: [UInt8] = []
    func le16(_ v: Int, _ a: inout [UInt8]) { a.append(UInt8(v & 0xFF)); a.append(UInt8((v >> 8) & 0xFF)) }
    func le32(_ v: Int, _ a: inout [UInt8]) { le16(v & 0xFFFF, &a); le16(v >> 16, &a) }
    for (name, data) in entries {
        let offset = out.count
        let n = Array(name.utf8)
        le32(0x0403_4b50, &out); le16(20, &out); le16(0, &out); le16(0, &out); le16(0, &out); le16(0, &out)
        le32(0, &out); le32(data.count, &out); le32(data.count, &out); le16(n.count, &out); le16(0, &out)
        out += n; out += data
        le32(0x0201_4b50, &central); le16(20, &central); le16(20, &central); le16(0, &central); le16(0, &central)
        le16(0, &central); le16(0, &central); le32(0, &central); le32(data.count, &central); le32(data.count, &central)
        le16(n.count, &central); le16(0, &central); le16(0, &central); le16(0, &central); le16(0, &central)
        le32(0, &central); le32(offset, &central); central += n
    }
    let cdOffset = out.count
    out += central
    le32(0x0605_4b50, &out); le16(0, &out); le16(0, &out); le16(entries.count, &out); le16(entries.count, &out)
    le32(central.count, &out); le32(cdOffset, &out); le16(0, &out)
    return out
}

func littleEndianFloats(_ values: [Float]) -> [UInt8] {
    values.flatMap { v -> [UInt8] in let b = v.bitPattern; return (0..<4).map { UInt8(truncatingIfNeeded: b >> (8 * $0)) } }
}
func littleEndian16(_ values: [UInt16]) -> [UInt8] { values.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] } }

func temporaryDirectory(_ tag: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(tag)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
