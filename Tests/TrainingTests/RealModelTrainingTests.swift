import Foundation
import XCTest
@testable import LodestoneCore

/// The trainer with real components: gzip JSON-lines objects in a LocalStore read through GzipLineReader and
/// the shared record parser, and the MosaicBERT fixture (real HF files) trained by the trainable encoder, EncoderTrainer.
final class RealModelTrainingTests: XCTestCase {
    /// The repo's reference fixtures (Tests/Fixtures/reference: mosaic-tiny, bert-tiny).
    static var fixtures: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/reference")
    }

    /// 24 pair lines; 6 query/pos lines with 2 positives each (12 examples) plus a blank and a malformed line.
    func makeStore(_ dir: URL) throws -> (LocalStore, URL) {
        let store = try LocalStore(root: dir.appendingPathComponent("store"))
        try store.writeGzipLines(key: "data/pairs.json.gz", (0..<24).map {
            #"["what is topic \#($0) about here", "topic \#($0) is about many things"]"#
        })
        var qp = (0..<6).map { #"{"query": "query \#($0)", "pos": ["first answer \#($0)", "second answer \#($0)"]}"# }
        qp.insert("", at: 2)
        qp.insert(#"{"query": "broken"#, at: 4)
        try store.writeGzipLines(key: "data/qp.json.gz", qp)
        let records = dir.appendingPathComponent("data_records.json")
        try DataRecords.write(["pairs.json.gz": 24, "qp.json.gz": 12], file: records, store: store)
        return (store, records)
    }

    func testStoreReadersFollowTheRecordCountsAndCutWords() throws {
        let dir = temporaryDirectory(); defer { try? FileManager.default.removeItem(at: dir) }
        let (store, records) = try makeStore(dir)
        let files = try loadDataFiles(store: store, recordsFile: records)
        XCTAssertEqual(files, [DataFile(key: "data/pairs.json.gz", records: 24), DataFile(key: "data/qp.json.gz", records: 12)])
        let reader = EndlessExampleReader(key: "data/qp.json.gz", maxWords: 2, open: storeExampleOpener(store: store))
        let first12 = try (0..<12).map { _ in try reader.next() }
        XCTAssertEqual(first12.first?.texts, ["query 0", "first answer"])
        XCTAssertEqual(first12.last?.texts, ["query 5", "second answer"])
        XCTAssertEqual(reader.position.pass, 0)
        XCTAssertEqual(try reader.next().texts, ["query 0", "first answer"], "the 13th example starts the file over")
        XCTAssertEqual(reader.position, ReaderPosition(pass: 1, lines: 1, usedOfLine: 1))
        // A missing object is an error naming it.
        let missing = EndlessExampleReader(key: "data/gone.json.gz", maxWords: 2, open: storeExampleOpener(store: store))
        XCTAssertThrowsError(try missing.next()) { XCTAssertTrue("\($0)".contains("gone.json.gz"), "\($0)") }
    }

    /// `symmetric_loss` and `adam_eps` from a config file reach the loss and the optimizer, and change the step.
    func testSymmetricLossAndAdamEpsReachTheTrainer() throws {
        let modelDir = Self.fixtures.appendingPathComponent("mosaic-tiny")
        let dir = temporaryDirectory(); defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("c.json")
        try Data(#"{"symmetric_loss": true, "adam_eps": 1e-8}"#.utf8).write(to: file)
        let config = try TrainingConfig.load(file)
        let directory = try SentenceTransformerDirectory.read(modelDir)
        let symmetric = try EncoderTrainer(directory: directory, config: config)
        XCTAssertEqual(symmetric.loss as? MultipleNegativesRankingLoss, MultipleNegativesRankingLoss(scale: 20, symmetric: true))
        XCTAssertEqual(symmetric.adamW.eps, 1e-8)
        let plain = try EncoderTrainer(directory: directory, config: TrainingConfig())
        XCTAssertEqual(plain.loss as? MultipleNegativesRankingLoss, MultipleNegativesRankingLoss(scale: 20, symmetric: false))
        XCTAssertEqual(plain.adamW.eps, 1e-6)
        let columns: [[[Int32]]] = [[[101, 2023, 102], [101, 2008, 2003, 102]], [[101, 3899, 102], [101, 4937, 102]]]
        let a = try plain.trainStep(columns: columns, learningRate: 0).loss
        let b = try symmetric.trainStep(columns: columns, learningRate: 0).loss
        XCTAssertNotEqual(a, b, "the symmetric loss adds the positives → anchors direction")
    }

    func testRealEncoderKilledAndResumedEqualsStraightRun() throws {
        let modelDir = Self.fixtures.appendingPathComponent("mosaic-tiny")
        guard FileManager.default.fileExists(atPath: modelDir.path) else {
            return XCTFail("fixture \(modelDir.path) missing")
        }
        let dir = temporaryDirectory(); defer { try? FileManager.default.removeItem(at: dir) }
        let (store, records) = try makeStore(dir)
        var config = TrainingConfig()
        config.batchSize = 4; config.maxSeqLength = 12; config.cycles = 1; config.chunks = 2; config.epochs = 2
        config.stepsPerEpoch = 2; config.learningRate = 1e-3; config.warmupSteps = 1

        let directory = try SentenceTransformerDirectory.read(modelDir)
        func run(_ name: String, faults: [Int: Fault] = [:], resume: Bool = false) throws -> (Trainer, EncoderTrainer, Result<TrainingStop, Error>) {
            let model = try EncoderTrainer(directory: directory, config: config)
            let sampler = try LodestoneSampler(files: try loadDataFiles(store: store, recordsFile: records), chunks: config.chunks,
                                               batchSize: config.batchSize, maxWords: config.maxSeqLength, seed: config.seed,
                                               open: storeExampleOpener(store: store))
            var options = TrainerOptions(config: config, outputDirectory: dir.appendingPathComponent(name))
            options.faults = FaultPlan(faults); options.showProgress = false; options.maxTokens = directory.maxSeqLength
            let trainer = try Trainer(model: model, tokenizer: directory.tokenizer, sampler: sampler,
                                      checkpointer: Checkpointer(store: store, prefix: "checkpoints/\(name)"), options: options)
            if resume { XCTAssertTrue(try trainer.resume()) }
            return (trainer, model, Result { try trainer.run() })
        }

        let (straight, straightModel, r1) = try run("straight")
        XCTAssertEqual(try r1.get(), .finished)
        let rows = try LossLog.read(straight.lossCSVURL)
        XCTAssertEqual(rows.count, 8)
        XCTAssertTrue(rows.allSatisfy { $0.loss.isFinite && $0.loss > 0 })
        let initial = try EncoderTrainer(directory: directory, config: config).trainingState().parameters
        XCTAssertNotEqual(straightModel.trainingState().parameters, initial)

        let (_, _, r2) = try run("killed", faults: [6: .crash])
        XCTAssertThrowsError(try r2.get())
        let (resumed, resumedModel, r3) = try run("killed", resume: true)
        XCTAssertEqual(try r3.get(), .finished)
        XCTAssertEqual(resumedModel.trainingState(), straightModel.trainingState(), "bitwise equal parameters and moments")
        XCTAssertEqual(try String(contentsOf: resumed.trainLogURL, encoding: .utf8),
                       try String(contentsOf: straight.trainLogURL, encoding: .utf8))

        // The written model is a sentence-transformers directory holding the trained weights.
        let saved = try SentenceTransformerDirectory.read(straight.modelURL)
        let trained = Dictionary(straightModel.encoder.namedWeights(), uniquingKeysWith: { a, _ in a })
        for (name, tensor) in saved.weights { XCTAssertEqual(tensor.values, trained[name]?.values, name) }
        XCTAssertTrue(FileManager.default.fileExists(atPath: straight.modelURL.appendingPathComponent("modules.json").path))
    }
}
