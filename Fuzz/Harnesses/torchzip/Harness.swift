// pytorch_model.bin as bytes from a stranger: the zip directory (offsets, sizes, names), then whatever it holds.
import Foundation
import FuzzSupport
import LodestoneCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTorchZip(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    fuzz(data, size) { bytes in
        for (_, tensor) in try TorchCheckpoint.readOrdered(scratchFile("pytorch_model.bin", bytes)) { _ = tensor.values.reduce(0, +) }
    }
}
