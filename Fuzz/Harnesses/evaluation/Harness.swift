// Evaluation sets 04 --eval and 05 evaluate read: scored pairs as TSV and JSON lines, and a BEIR directory whose
// corpus.jsonl, queries.jsonl and qrels/test.tsv are the input's three parts (split at 0x00 bytes).
import Foundation
import FuzzSupport
import LodestoneCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEvaluation(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    fuzz(data, size) { bytes in
        _ = try? EvaluationFiles.readScoredPairsTSV(scratchFile("pairs.tsv", bytes).path)
        _ = try? EvaluationFiles.readScoredPairsJSONL(scratchFile("pairs.jsonl", bytes).path)
        let parts = split(bytes, parts: 3)
        _ = scratchFile("beir/corpus.jsonl", parts[0])
        _ = scratchFile("beir/queries.jsonl", parts[1])
        _ = scratchFile("beir/qrels/test.tsv", parts[2])
        _ = try EvaluationFiles.readBEIR(scratch.appendingPathComponent("beir").path, split: nil)
    }
}
