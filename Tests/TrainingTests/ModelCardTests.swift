// Model cards: 04-training writes README.md into model/ with the training data, loss and hyperparameters, and the
// last --eval results as model-index; huggingface_hub's ModelCard parses it (Python, installed by Scripts/setup.sh).
import Foundation
import XCTest
@testable import LodestoneCore

extension TrainingFlagsTests {
    /// The card's front matter as huggingface_hub reads it (`ModelCard.load(...).data.to_dict()`), as JSON.
    func cardAsHuggingFaceHubReadsIt(_ readme: URL) throws -> [String: Any] {
        let program = "import json, sys\nfrom huggingface_hub import ModelCard\nprint(json.dumps(ModelCard.load(sys.argv[1]).data.to_dict()))"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", program, readme.path]
        let out = Pipe(), err = Pipe()
        p.standardOutput = out; p.standardError = err
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        if message.contains("No module named 'huggingface_hub'") && ProcessInfo.processInfo.environment["CI"] == nil {
            throw XCTSkip("huggingface_hub is not installed (Scripts/setup.sh installs it)")
        }
        XCTAssertEqual(p.terminationStatus, 0, message)
        return try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any], message)
    }

    /// Three scored pairs (--eval) whose correlations are defined.
    func scoredPairs() throws -> URL {
        let tsv = dir.appendingPathComponent("pairs.tsv")
        try Data("sentence1\tsentence2\tscore\nquestion number 1\treply number 1\t0.9\na cat\ta stock market\t0.1\nquestion number 2\treply number 7\t0.4\n".utf8).write(to: tsv)
        return tsv
    }

    func testSavedModelHasACardThatHuggingFaceHubReads() throws {
        let tsv = try scoredPairs()
        let out = dir.appendingPathComponent("carded")
        let r = try run(try small() + ["--output", out.path, "--eval", tsv.path])
        XCTAssertEqual(r.status, 0, r.output)
        let readme = out.appendingPathComponent("model/README.md")
        let text = try String(contentsOf: readme, encoding: .utf8)
        for part in ["pairs.json.gz | 40 |", "Loss: `MultipleNegativesRankingLoss`", "| batch_size | 4 |", "| lr | 0.001 |", "| symmetric_loss | false |",
                     "trust_remote_code=True", "2 steps in this output (1 epochs succeeded, 0 failed)"] {
            XCTAssertTrue(text.contains(part), "README.md lacks \(part):\n\(text)")
        }

        let card = try cardAsHuggingFaceHubReadsIt(readme)
        XCTAssertEqual(card["library_name"] as? String, "sentence-transformers")
        XCTAssertEqual(card["pipeline_tag"] as? String, "sentence-similarity")
        XCTAssertTrue((card["tags"] as? [String])?.contains("sentence-transformers") == true, "\(card)")
        XCTAssertNil(card["base_model"], "a local --model is not a Hub id")
        // model-index holds eval.csv's values for this step.
        let csv = try String(contentsOf: out.appendingPathComponent("eval.csv"), encoding: .utf8)
        // step,cycle,chunk,epoch,data,metric,value,primary
        let row = try XCTUnwrap(csv.split(separator: "\n").first { $0.contains(",spearman_cosine,") }?.split(separator: ","), csv)
        let spearman = try XCTUnwrap(Double(row[6]), csv)
        let results = (card["model-index"] as? [[String: Any]])?.first?["results"] as? [[String: Any]]
        let metrics = results?.first?["metrics"] as? [[String: Any]] ?? []
        let value = metrics.first { $0["type"] as? String == "spearman_cosine" }?["value"] as? Double
        XCTAssertEqual(try XCTUnwrap(value, "\(card)"), spearman, accuracy: 1e-4)
        XCTAssertEqual((results?.first?["dataset"] as? [String: Any])?["name"] as? String, tsv.path)
    }

    /// A Hub base model is named in the front matter (a local one only in the text), and names with YAML's special characters stay strings.
    func testCardFrontMatterSurvivesAwkwardNamesAndNamesTheHubBaseModel() throws {
        let model = try SentenceTransformerDirectory.read(RealModelTrainingTests.fixtures.appendingPathComponent("mosaic-tiny"))
        var card = ModelCard(baseModel: "mosaicml/mosaic-bert-base-seqlen-2048", onTheHub: true)
        card.datasets = ["sentence-transformers/embedding-training-data"]
        let awkward = "data: \"quoted\" # not a comment\n- not a list"
        card.metrics = [.init(data: awkward, name: "cosine_ndcg@10", value: 0.25), .init(data: "sts", name: "spearman_cosine", value: 0.5)]
        let readme = dir.appendingPathComponent("README.md")
        try Data(card.markdown(for: model, name: "lodestone: test").utf8).write(to: readme)
        let parsed = try cardAsHuggingFaceHubReadsIt(readme)
        XCTAssertEqual(parsed["base_model"] as? String, "mosaicml/mosaic-bert-base-seqlen-2048")
        XCTAssertEqual(parsed["datasets"] as? [String], ["sentence-transformers/embedding-training-data"])
        let index = try XCTUnwrap((parsed["model-index"] as? [[String: Any]])?.first, "\(parsed)")
        XCTAssertEqual(index["name"] as? String, "lodestone: test")
        let results = index["results"] as? [[String: Any]] ?? []
        XCTAssertEqual(results.compactMap { ($0["dataset"] as? [String: Any])?["name"] as? String }, [awkward, "sts"])
        XCTAssertEqual((results.first?["task"] as? [String: Any])?["type"] as? String, "information-retrieval")
        XCTAssertEqual(((results.last?["metrics"] as? [[String: Any]])?.first?["value"] as? Double), 0.5)

        let local = ModelCard(baseModel: "models/mosaic-bert-base-4096").markdown(for: model, name: "m")
        XCTAssertFalse(local.contains("base_model:"), "a local path is no Hub id")
        XCTAssertTrue(local.contains("| base model | models/mosaic-bert-base-4096 |"), local)
    }

    /// A Matryoshka run's card names its widths and loss, and model-index holds each width's metrics apart.
    func testMatryoshkaModelCardNamesItsWidths() throws {
        let tsv = try scoredPairs()
        let out = dir.appendingPathComponent("nested")
        let r = try run(try small() + ["--output", out.path, "--eval", tsv.path, "--loss", "matryoshka", "--matryoshka-dims", "8,24"])
        XCTAssertEqual(r.status, 0, r.output)
        let readme = out.appendingPathComponent("model/README.md")
        let text = try String(contentsOf: readme, encoding: .utf8)
        for part in ["Matryoshka widths 24, 8", "Loss: `MatryoshkaLoss(MultipleNegativesRankingLoss, matryoshka_dims=[8, 24])`", "| matryoshka_dims | 8,24 |"] {
            XCTAssertTrue(text.contains(part), "README.md lacks \(part):\n\(text)")
        }
        let card = try cardAsHuggingFaceHubReadsIt(readme)
        let results = (card["model-index"] as? [[String: Any]])?.first?["results"] as? [[String: Any]]
        let names = (results?.first?["metrics"] as? [[String: Any]])?.compactMap { $0["type"] as? String } ?? []
        XCTAssertEqual(Set(names), ["dim_24_pearson_cosine", "dim_24_spearman_cosine", "dim_8_pearson_cosine", "dim_8_spearman_cosine"], "\(card)")
    }
}
