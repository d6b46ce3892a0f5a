// PyTorch checkpoints (`pytorch_model.bin`, the zip format of torch.save since 1.6): `data.pkl` is run
// through the safe pickle machine, and each tensor's storage is read from `data/<key>` in the archive,
// honouring storage offsets and strides. float16/bfloat16 storages are widened to float32.
import Foundation

public enum TorchCheckpointError: Error, CustomStringConvertible {
    case notZip(file: String)
    case malformed(file: String, field: String, reason: String)

    public var description: String {
        switch self {
        case let .notZip(file):
            return "\(file): not a zip-format torch checkpoint (legacy torch.save files are not supported)"
        case let .malformed(file, field, reason): return "\(file): \(field): \(reason)"
        }
    }
}

public enum TorchCheckpoint {
    /// All tensors of a state dict, by name.
    public static func read(_ url: URL) throws -> [String: TensorData] {
        Dictionary(uniqueKeysWithValues: try readOrdered(url))
    }

    /// All tensors in the order the state dict lists them.
    public static func readOrdered(_ url: URL) throws -> [(String, TensorData)] {
        if let handle = FileHandle(forReadingAtPath: url.path) {
            let magic = handle.readData(ofLength: 2)
            try? handle.close()
            if magic.count == 2 && magic != Data("PK".utf8) { throw TorchCheckpointError.notZip(file: url.path) }
        }
        let archive = try ZipArchive(url: url)
        guard let pickleName = archive.names.first(where: { $0 == "data.pkl" || $0.hasSuffix("/data.pkl") }) else {
            throw TorchCheckpointError.malformed(file: url.path, field: "data.pkl", reason: "archive has no data.pkl")
        }
        let prefix = String(pickleName.dropLast("data.pkl".count))
        if archive.entries[prefix + "byteorder"] != nil {
            let order = String(decoding: try archive.contents(of: prefix + "byteorder"), as: UTF8.self)
            guard order == "little" else {
                throw TorchCheckpointError.malformed(file: url.path, field: prefix + "byteorder", reason: "\(order) byte order is not supported")
            }
        }
        var machine = PickleMachine(file: "\(url.path):\(pickleName)")
        let root = try archive.withContents(of: pickleName) { try machine.run($0) }
        guard case let .dict(dict) = root else {
            throw TorchCheckpointError.malformed(file: url.path, field: pickleName, reason: "top-level object is not a state dict")
        }
        var out: [(String, TensorData)] = []
        for (key, value) in zip(dict.keys, dict.values) {
            guard case let .string(name) = key else {
                throw TorchCheckpointError.malformed(file: url.path, field: pickleName, reason: "state dict key is not a string")
            }
            guard case let .tensor(ref) = value else {
                throw TorchCheckpointError.malformed(file: url.path, field: name, reason: "value is not a tensor")
            }
            out.append((name, try materialize(ref, name: name, archive: archive, prefix: prefix)))
        }
        return out
    }

    /// Gathers the tensor's elements (row-major) from its storage.
    static func materialize(_ ref: TorchTensorRef, name: String, archive: ZipArchive, prefix: String) throws -> TensorData {
        let entry = prefix + "data/" + ref.storage.key
        let width = ref.storage.type.byteWidth
        func refuse(_ reason: String) -> Error { TorchCheckpointError.malformed(file: archive.path, field: name, reason: reason) }
        guard ref.shape.allSatisfy({ $0 >= 0 }), ref.offset >= 0 else { throw refuse("negative size or offset") }
        guard ref.strides.allSatisfy({ $0 >= 0 }) else { throw refuse("negative stride in \(ref.strides)") }
        guard ref.storage.count >= 0, ref.storage.count <= Int.max / width else {
            throw refuse("storage \(entry) claims \(ref.storage.count) elements")
        }
        // Every number here comes from the file: sizes and the view's last element are multiplied with overflow
        // checks, and a size-1 dimension's stride (never stepped) is taken as 0, so any stride there is harmless.
        var count = 1, last = ref.offset
        let strides = zip(ref.shape, ref.strides).map { $0 == 1 ? 0 : $1 }
        for (size, stride) in zip(ref.shape, strides) {
            let (product, overflow) = count.multipliedReportingOverflow(by: size)
            guard !overflow else { throw refuse("shape \(ref.shape) has more elements than memory holds") }
            count = product
            if size > 0 {
                let (step, stepOverflow) = (size - 1).multipliedReportingOverflow(by: stride)
                let (sum, sumOverflow) = last.addingReportingOverflow(step)
                guard !stepOverflow, !sumOverflow else { throw refuse("view (shape \(ref.shape), strides \(ref.strides)) reaches past any storage") }
                last = sum
            }
        }
        return try archive.withContents(of: entry) { raw in
            guard raw.count >= ref.storage.count * width else {
                throw TorchCheckpointError.malformed(file: archive.path, field: name,
                    reason: "storage \(entry) holds \(raw.count) bytes, expected \(ref.storage.count * width)")
            }
            guard count == 0 || (last < ref.storage.count && last < raw.count / width) else {
                throw TorchCheckpointError.malformed(file: archive.path, field: name,
                    reason: "view (offset \(ref.offset), shape \(ref.shape), strides \(ref.strides)) exceeds storage of \(ref.storage.count) elements")
            }
            guard count == 0 || count <= raw.count / width else { throw refuse("shape \(ref.shape) holds more elements than its storage") }
            var values = [Float](repeating: 0, count: count)
            values.withUnsafeMutableBufferPointer { out in
                let element = elementReader(ref.storage.type, raw)
                if isContiguous(ref.shape, strides) {
                    for i in 0..<count { out[i] = element(ref.offset + i) }
                } else {
                    // Walk the index space in row-major order, carrying like an odometer.
                    var index = [Int](repeating: 0, count: ref.shape.count)
                    var source = ref.offset
                    for i in 0..<count {
                        out[i] = element(source)
                        var d = ref.shape.count - 1
                        while d >= 0 {
                            index[d] += 1; source += strides[d]
                            if index[d] < ref.shape[d] { break }
                            source -= strides[d] * ref.shape[d]; index[d] = 0; d -= 1
                        }
                    }
                }
            }
            return TensorData(shape: ref.shape, values: values)
        }
    }

    /// Whether a view of a non-empty, overflow-checked shape is row-major contiguous.
    static func isContiguous(_ shape: [Int], _ strides: [Int]) -> Bool {
        if shape.contains(0) { return true }
        var expected = 1
        for d in stride(from: shape.count - 1, through: 0, by: -1) {
            if shape[d] != 1 && strides[d] != expected { return false }
            expected *= shape[d]
        }
        return true
    }

    /// Little-endian element i of a storage, as Float.
    static func elementReader(_ type: TorchStorageType, _ raw: UnsafeRawBufferPointer) -> (Int) -> Float {
        switch type {
        case .float32: return { Float(bitPattern: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self)) }
        case .float16: return { Float(Float16(bitPattern: raw.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self))) }
        case .bfloat16: return { Float(bitPattern: UInt32(raw.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self)) << 16) }
        }
    }
}
