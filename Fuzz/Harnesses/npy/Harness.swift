// .npy embeddings (05-embed search --corpus): magic, version, header length, the header dict (descr, fortran_order,
// shape) and the data's size against the shape.
import Foundation
import FuzzSupport
import LodestoneCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNpy(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    fuzz(data, size) { bytes in
        let matrix = try NpyMatrix(path: scratchFile("corpus.npy", bytes).path)
        _ = matrix.withRows { rows in (0..<(matrix.rows * matrix.dimension)).reduce(Float(0)) { $0 + rows[$1] } }
    }
}
