// The pickle machine of pytorch_model.bin: the input is archive/data.pkl inside a well-formed stored zip, beside
// storages named 0 to 3 of uneven sizes, so the fuzzer spends its time on opcodes, memo, marks and tensor
// references rather than on the zip directory (fuzz-torchzip covers that).
import Foundation
import FuzzSupport
import LodestoneCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPickle(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    fuzz(data, size) { bytes in
        let storages = (0..<4).map { (name: "archive/data/\($0)", bytes: Data(repeating: 0x3f, count: [64, 12, 4096, 3][$0])) }
        let zip = storedZip([(name: "archive/data.pkl", bytes: bytes), (name: "archive/byteorder", bytes: Data("little".utf8))] + storages)
        for (_, tensor) in try TorchCheckpoint.readOrdered(scratchFile("pytorch_model.bin", zip)) { _ = tensor.values.reduce(0, +) }
    }
}
