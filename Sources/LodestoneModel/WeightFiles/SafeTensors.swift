// The safetensors format: 8-byte little-endian header length, a JSON header mapping names to
// {dtype, shape, data_offsets}, then the raw little-endian data. Reading memory-maps the file and validates
// every entry against the data region (a truncated file or lying offsets is a clear error, never a crash);
// writing goes to a temporary file renamed into place.
import Foundation
import LodestoneBase

public enum SafeTensorsError: Error, CustomStringConvertible, Equatable {
    case unreadable(file: String, reason: String)
    case badHeader(file: String, reason: String)
    case badTensor(file: String, tensor: String, field: String, reason: String)

    public var description: String {
        switch self {
        case let .unreadable(file, reason): return "\(file): cannot read safetensors file: \(reason)"
        case let .badHeader(file, reason): return "\(file): invalid safetensors header: \(reason)"
        case let .badTensor(file, tensor, field, reason): return "\(file): tensor '\(tensor)', field '\(field)': \(reason)"
        }
    }
}

public enum SafeTensors {
    /// Reads every tensor of a safetensors file, converting F32/F16/BF16/F64/I32/I64 values to Float.
    public static func read(_ url: URL) throws -> [String: TensorData] {
        try readWithMetadata(url).tensors
    }

    /// Reads tensors and the `__metadata__` string map.
    public static func readWithMetadata(_ url: URL) throws -> (tensors: [String: TensorData], metadata: [String: String]) {
        let file = url.path
        let data: Data
        do { data = try Data(contentsOf: url, options: .alwaysMapped) } catch {
            try checkReadable(file)   // names the path and the reason (missing, a directory, unreadable)
            throw SafeTensorsError.unreadable(file: file, reason: describe(error))
        }
        return try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            try parse(raw, file: file)
        }
    }

    static func parse(_ raw: UnsafeRawBufferPointer, file: String) throws -> (tensors: [String: TensorData], metadata: [String: String]) {
        guard raw.count >= 8 else {
            throw SafeTensorsError.badHeader(file: file, reason: "file is \(raw.count) bytes, shorter than the 8-byte header length (truncated?)")
        }
        var headerLength: UInt64 = 0
        for i in 0..<8 { headerLength |= UInt64(raw[i]) << (8 * UInt64(i)) }
        guard headerLength <= UInt64(raw.count - 8) else {
            throw SafeTensorsError.badHeader(file: file, reason: "header length \(headerLength) at offset 0 exceeds the file's remaining \(raw.count - 8) bytes (truncated?)")
        }
        let headerBytes = Data(raw[8..<(8 + Int(headerLength))])
        guard let header = (try? JSONSerialization.jsonObject(with: headerBytes)) as? [String: Any] else {
            throw SafeTensorsError.badHeader(file: file, reason: "header (bytes 8..<\(8 + headerLength)) is not a JSON object")
        }
        let dataStart = 8 + Int(headerLength)
        let dataLength = raw.count - dataStart
        var metadata: [String: String] = [:]
        var tensors: [String: TensorData] = [:]
        for (name, entry) in header {
            if name == "__metadata__" {
                for (k, v) in entry as? [String: Any] ?? [:] { metadata[k] = v as? String ?? "\(v)" }
                continue
            }
            guard let e = entry as? [String: Any] else {
                throw SafeTensorsError.badTensor(file: file, tensor: name, field: "entry", reason: "not a JSON object")
            }
            guard let dtype = e["dtype"] as? String else {
                throw SafeTensorsError.badTensor(file: file, tensor: name, field: "dtype", reason: "missing")
            }
            guard let shapeAny = e["shape"] as? [Any], let shape = shapeAny.map({ ($0 as? NSNumber)?.intValue }) as? [Int],
                  shape.allSatisfy({ $0 >= 0 }) else {
                throw SafeTensorsError.badTensor(file: file, tensor: name, field: "shape", reason: "missing or not a list of non-negative integers")
            }
            guard let offAny = e["data_offsets"] as? [Any], offAny.count == 2,
                  let begin = (offAny[0] as? NSNumber)?.intValue, let end = (offAny[1] as? NSNumber)?.intValue else {
                throw SafeTensorsError.badTensor(file: file, tensor: name, field: "data_offsets", reason: "missing or not [begin, end]")
            }
            guard let width = elementSize[dtype] else {
                throw SafeTensorsError.badTensor(file: file, tensor: name, field: "dtype", reason: "unsupported dtype \(dtype)")
            }
            var count = 1
            for d in shape {
                let (product, overflow) = count.multipliedReportingOverflow(by: d)
                guard !overflow, product <= dataLength else {
                    throw SafeTensorsError.badTensor(file: file, tensor: name, field: "shape",
                        reason: "shape \(shape) holds more elements than the \(dataLength)-byte data region")
                }
                count = product
            }
            guard begin >= 0, begin <= end, end <= dataLength else {
                throw SafeTensorsError.badTensor(file: file, tensor: name, field: "data_offsets",
                    reason: "[\(begin), \(end)] lies outside the data region of \(dataLength) bytes (file offset \(dataStart); truncated file?)")
            }
            guard end - begin == count * width else {
                throw SafeTensorsError.badTensor(file: file, tensor: name, field: "data_offsets",
                    reason: "[\(begin), \(end)] spans \(end - begin) bytes but shape \(shape) of \(dtype) needs \(count * width)")
            }
            let base = raw.baseAddress! + dataStart + begin
            tensors[name] = TensorData(shape: shape, values: decode(base, count: count, dtype: dtype))
        }
        return (tensors, metadata)
    }

    static let elementSize: [String: Int] = ["F32": 4, "F16": 2, "BF16": 2, "F64": 8, "I32": 4, "I64": 8]

    static func decode(_ p: UnsafeRawPointer, count: Int, dtype: String) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { out, initialized in
            switch dtype {
            case "F32":
                for i in 0..<count { out[i] = Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
            case "F16":
                for i in 0..<count { out[i] = halfToFloat(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
            case "BF16":
                for i in 0..<count { out[i] = Float(bitPattern: UInt32(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) << 16) }
            case "F64":
                for i in 0..<count { out[i] = Float(Double(bitPattern: UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))) }
            case "I32":
                for i in 0..<count { out[i] = Float(Int32(bitPattern: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))) }
            default: // I64
                for i in 0..<count { out[i] = Float(Int64(bitPattern: UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))) }
            }
            initialized = count
        }
    }

    /// IEEE half → float, including subnormals, infinities and NaN.
    public static func halfToFloat(_ h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exp = Int(h >> 10) & 0x1f
        let mant = UInt32(h & 0x3ff)
        if exp == 0 {
            let v = Float(mant) * Float(sign == 0 ? 1 : -1) / 16_777_216 // mant · 2⁻²⁴
            return v
        }
        if exp == 31 { return Float(bitPattern: sign | 0x7f80_0000 | (mant << 13)) }
        return Float(bitPattern: sign | (UInt32(exp + 112) << 23) | (mant << 13))
    }

    /// Writes float32 tensors (in the given order) atomically, streamed (no second copy of the weights in
    /// memory); `durable` fsyncs the file and its directory.
    public static func write(_ tensors: [(String, TensorData)], to url: URL, metadata: [String: String]? = nil,
                             durable: Bool = true) throws {
        try write(StreamedTensors(entries: tensors.map { ($0.0, $0.1.shape) }) { i, sink in
            try tensors[i].1.values.withUnsafeBytes { try sink.write($0) }   // x86-64 and arm64 are little-endian
        }, to: url, metadata: metadata, durable: durable)
    }

    /// Writes tensors whose floats `tensors.write` hands over one by one (from a model's own parameter buffer).
    public static func write(_ tensors: StreamedTensors, to url: URL, metadata: [String: String]? = nil,
                             durable: Bool = true) throws {
        var header: [String: Any] = [:]
        if let metadata { header["__metadata__"] = metadata }
        var offset = 0
        for (name, shape) in tensors.entries {
            let count = shape.reduce(1, *)
            header[name] = ["dtype": "F32", "shape": shape, "data_offsets": [offset, offset + 4 * count]] as [String: Any]
            offset += 4 * count
        }
        var headerData = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while (8 + headerData.count) % 8 != 0 { headerData.append(0x20) }
        try AtomicFile.write(to: url, durable: durable) { sink in
            var length = UInt64(headerData.count).littleEndian
            try withUnsafeBytes(of: &length) { try sink.write($0) }
            try sink.write(headerData)
            for (i, entry) in tensors.entries.enumerated() where entry.shape.reduce(1, *) > 0 { try tensors.write(i, sink) }
        }
    }
}

/// Float32 tensors by name and shape, with a way to write tensor `i`'s little-endian bytes: a model's weights
/// written without first copying them out of its parameter buffer.
public struct StreamedTensors {
    public var entries: [(name: String, shape: [Int])]
    public var write: (Int, FileSink) throws -> Void
    public init(entries: [(name: String, shape: [Int])], write: @escaping (Int, FileSink) throws -> Void) {
        self.entries = entries; self.write = write
    }

    /// The entries whose name passes `keep`, writing as before.
    public func filter(_ keep: (String) -> Bool) -> StreamedTensors {
        let kept = entries.indices.filter { keep(entries[$0].name) }
        let write = self.write
        return StreamedTensors(entries: kept.map { entries[$0] }) { i, sink in try write(kept[i], sink) }
    }
}
