// pytorch_model.bin reading: strides, offsets, half/bfloat16 storages, shards, and every way it must fail.
import Foundation
import XCTest
import LodestoneModel

final class TorchCheckpointTests: XCTestCase {
    /// A checkpoint whose tensors are known by construction.
    func makeCheckpoint() -> [UInt8] {
        let pickle = PickleBuilder.stateDict { p in
            // storage 0 = [0,1,...,7]; view offset 1, shape (2,3), strides (1,2) → [[1,3,5],[2,4,6]]
            p.tensor("transposed", storageType: "FloatStorage", key: "0", numel: 8, offset: 1, shape: [2, 3], strides: [1, 2])
            p.tensor("half", storageType: "HalfStorage", key: "1", numel: 2, offset: 0, shape: [2], strides: [1])
            p.tensor("brain", storageType: "BFloat16Storage", key: "2", numel: 2, offset: 0, shape: [1, 2], strides: [2, 1])
        }
        return storedZip([
            ("archive/data.pkl", pickle),
            ("archive/byteorder", Array("little".utf8)),
            ("archive/data/0", littleEndianFloats((0..<8).map(Float.init))),
            ("archive/data/1", littleEndian16([0x3E00, 0xC000])),   // 1.5, -2.0 in float16
            ("archive/data/2", littleEndian16([0x3F80, 0xBF00])),   // 1.0, -0.5 in bfloat16
            ("archive/version", Array("3\n".utf8)),
        ])
    }

    func testStridedHalfAndBFloat16Tensors() throws {
        let dir = try temporaryDirectory("ckpt"); defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("pytorch_model.bin")
        try Data(makeCheckpoint()).write(to: url)
        let tensors = try TorchCheckpoint.read(url)
        XCTAssertEqual(tensors["transposed"], TensorData(shape: [2, 3], values: [1, 3, 5, 2, 4, 6]))
        XCTAssertEqual(tensors["half"], TensorData(shape: [2], values: [1.5, -2.0]))
        XCTAssertEqual(tensors["brain"], TensorData(shape: [1, 2], values: [1.0, -0.5]))
        // The same file through loadWeights(directory:).
        XCTAssertEqual(try loadWeights(directory: dir)["half"]?.values, [1.5, -2.0])
    }

    func testForeignGlobalIsRefusedByName() throws {
        var p = PickleBuilder()
        p.global("os", "system"); p.string("echo pwned"); p.op(0x85); p.op(0x52); p.op(0x2E)
        let dir = try temporaryDirectory("ckpt"); defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("pytorch_model.bin")
        try Data(storedZip([("archive/data.pkl", p.bytes)])).write(to: url)
        XCTAssertThrowsError(try TorchCheckpoint.read(url)) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains("os.system"), message)
            XCTAssertTrue(message.contains("offset 2"), message)
            XCTAssertTrue(message.contains(url.path), message)
        }
    }

    func testTruncatedArchiveAndPickleAreClearErrors() throws {
        let dir = try temporaryDirectory("ckpt"); defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("pytorch_model.bin")
        let whole = makeCheckpoint()
        try Data(whole[0..<(whole.count / 2)]).write(to: url)
        XCTAssertThrowsError(try TorchCheckpoint.read(url)) { error in
            XCTAssertTrue(error is ZipError, "\(error)")
            XCTAssertTrue("\(error)".contains("truncated"), "\(error)")
        }
        // A pickle cut before STOP.
        let cut = PickleBuilder.stateDict { _ in }.dropLast()
        try Data(storedZip([("archive/data.pkl", Array(cut))])).write(to: url)
        XCTAssertThrowsError(try TorchCheckpoint.read(url)) { XCTAssertTrue("\($0)".contains("without STOP"), "\($0)") }
        // A view that reads past its storage.
        let bad = PickleBuilder.stateDict { p in
            p.tensor("w", storageType: "FloatStorage", key: "0", numel: 4, offset: 2, shape: [3], strides: [1])
        }
        try Data(storedZip([("archive/data.pkl", bad), ("archive/data/0", littleEndianFloats([1, 2, 3, 4]))])).write(to: url)
        XCTAssertThrowsError(try TorchCheckpoint.read(url)) { XCTAssertTrue("\($0)".contains("exceeds storage"), "\($0)") }
        // Not a zip at all (legacy format or garbage).
        try Data([0x80, 0x02, 0x8A, 0x0A]).write(to: url)
        XCTAssertThrowsError(try TorchCheckpoint.read(url)) { XCTAssertTrue("\($0)".contains("not a zip-format"), "\($0)") }
    }

    func testShardedCheckpointsLoadThroughTheirIndex() throws {
        let dir = try temporaryDirectory("shards"); defer { try? FileManager.default.removeItem(at: dir) }
        let a = TensorData(shape: [2], values: [1, 2]), b = TensorData(shape: [1, 3], values: [3, 4, 5])
        try SafeTensors.write([("a", a)], to: dir.appendingPathComponent("model-00001-of-00002.safetensors"), metadata: nil)
        try SafeTensors.write([("b", b)], to: dir.appendingPathComponent("model-00002-of-00002.safetensors"), metadata: nil)
        let index = #"{"metadata": {}, "weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}}"#
        try Data(index.utf8).write(to: dir.appendingPathComponent("model.safetensors.index.json"))
        let loaded = try loadWeights(directory: dir)
        XCTAssertEqual(loaded, ["a": a, "b": b])

        let torchDir = try temporaryDirectory("torch-shards"); defer { try? FileManager.default.removeItem(at: torchDir) }
        try Data(makeCheckpoint()).write(to: torchDir.appendingPathComponent("pytorch_model-00001-of-00001.bin"))
        try Data(#"{"weight_map": {"half": "pytorch_model-00001-of-00001.bin"}}"#.utf8)
            .write(to: torchDir.appendingPathComponent("pytorch_model.bin.index.json"))
        XCTAssertEqual(try loadWeights(directory: torchDir), ["half": TensorData(shape: [2], values: [1.5, -2.0])])

        try Data(#"{"weight_map": {"c": "missing.bin"}}"#.utf8).write(to: torchDir.appendingPathComponent("pytorch_model.bin.index.json"))
        XCTAssertThrowsError(try loadWeights(directory: torchDir))
        XCTAssertThrowsError(try loadWeights(directory: dir.appendingPathComponent("nothing-here")))
    }
}
