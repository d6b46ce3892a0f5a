// A model's config.json (BERT or MosaicBERT fields, their types and ranges), as 03, 04 and 05 read it first.
import Foundation
import FuzzSupport
import LodestoneCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    fuzz(data, size) { bytes in
        let config = try EncoderConfig(contentsOf: scratchFile("config.json", bytes))
        _ = try config.jsonData()
    }
}
