// safetensors: the 8-byte header length, the JSON header (dtypes, shapes, data_offsets) and the offsets checked
// against the file, as 03 and 05 read model.safetensors.
import Foundation
import FuzzSupport
import LodestoneCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafeTensors(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    fuzz(data, size) { bytes in
        let tensors = try SafeTensors.readWithMetadata(scratchFile("model.safetensors", bytes)).tensors
        for (_, tensor) in tensors { _ = tensor.values.reduce(0, +) }   // every element is read
    }
}
