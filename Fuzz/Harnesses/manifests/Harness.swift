// 01's manifests (TSV with a header row): the datasets list and the Hugging Face repos list.
import Foundation
import FuzzSupport
import LodestoneCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzManifests(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    fuzz(data, size) { bytes in
        let url = scratchFile("manifest.tsv", bytes)
        _ = try? Manifests.readDatasets(url)
        _ = try Manifests.readRepos(url)
    }
}
