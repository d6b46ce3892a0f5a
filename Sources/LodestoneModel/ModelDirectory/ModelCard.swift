// The model card: README.md beside the weights, as the Hub and sentence-transformers write it. YAML front matter
// (library, pipeline tag, tags, base model, datasets, model-index metrics) that `huggingface_hub.ModelCard.load`
// parses, then sections on the model, its use in Python and with 05-embed, the training data and
// hyperparameters, the evaluation results and the framework versions. 03 writes one for the base model, 04 one for
// every model it saves.
import Foundation
import LodestoneBase
import LodestoneTensor

public struct ModelCard: Sendable {
    /// One evaluation result: the data set it was measured on, the metric's name (e.g. `cosine_ndcg@10`) and value.
    public struct Metric: Sendable {
        public var data: String, name: String, value: Double
        public init(data: String, name: String, value: Double) { self.data = data; self.name = name; self.value = value }
    }

    /// The model this one started from, as the user named it (a Hub id or a local path).
    public var baseModel: String?
    /// Whether `baseModel` is a Hub id (`mosaicml/mosaic-bert-base-seqlen-2048`): only then is it the front
    /// matter's `base_model`, which the Hub links to.
    public var baseModelIsOnTheHub = false
    /// Hub dataset ids; also listed under Training data.
    public var datasets: [String] = []
    /// Training files (store keys or names) and their record counts.
    public var trainingFiles: [(name: String, records: Int)] = []
    /// The loss, as sentence-transformers names it (`MultipleNegativesRankingLoss`).
    public var loss: String?
    /// Every hyperparameter, name → value as the user would write it.
    public var hyperparameters: [(name: String, value: String)] = []
    public var metrics: [Metric] = []
    /// How training went, in a sentence (steps done, epochs that succeeded).
    public var trainingSummary: String?

    public init(baseModel: String? = nil, onTheHub: Bool = false) { self.baseModel = baseModel; self.baseModelIsOnTheHub = onTheHub }

    /// The card's text for `model` (the directory it describes, without its weights read again).
    public func markdown(for model: SentenceTransformerDirectory, name: String) -> String {
        var front = ["library_name: sentence-transformers", "pipeline_tag: sentence-similarity", "tags:"]
        front += ["sentence-transformers", "sentence-similarity", "feature-extraction", "lodestone"].map { "- " + $0 }
        if let baseModel, baseModelIsOnTheHub { front.append("base_model: " + yaml(baseModel)) }
        if !datasets.isEmpty { front += ["datasets:"] + datasets.map { "- " + yaml($0) } }
        if !metrics.isEmpty { front += modelIndex(name: name) }

        let config = model.config
        let mosaic = config.isMosaic
        var text = ["---"] + front + ["---", "", "# \(name)", ""]
        text.append("A sentence-embedding model written by Lodestone in Swift: texts become \(config.hidden)-dimensional vectors\(model.pooling.normalize ? " of unit length" : ""), compared by cosine similarity.")
        text += ["", "## Model", "",
                 "| | |", "| --- | --- |",
                 "| architecture | \(mosaic ? "MosaicBERT (ALiBi, gated GELU, unpadded attention)" : "BERT") |",
                 "| layers, hidden size, heads | \(config.layers), \(config.hidden), \(config.heads) |",
                 "| embedding dimension | \(config.hidden)\(model.matryoshkaDims.map { "; Matryoshka widths \($0.map(String.init).joined(separator: ", ")) (05-embed --truncate-dim D)" } ?? "") |",
                 "| max sequence length | \(model.maxSeqLength) tokens |",
                 "| modules after the encoder | \(model.pooling.summary) |",
                 "| vocabulary | \(model.tokenizer.vocabSize) WordPiece tokens\(model.tokenizer.lowercase ? ", lowercased" : "") |"]
        if let baseModel { text.append("| base model | \(baseModel) |") }
        text += ["", "## Usage", "", "With sentence-transformers:", "", "```python", "from sentence_transformers import SentenceTransformer",
                 "", "model = SentenceTransformer(\"PATH_OR_HUB_ID\"\(mosaic ? ", trust_remote_code=True" : ""))",
                 "embeddings = model.encode([\"A man is playing a guitar.\", \"Someone plays music.\"])",
                 "print(model.similarity(embeddings, embeddings))", "```", ""]
        if mosaic { text += ["`trust_remote_code=True` loads the MosaicBERT modules saved beside the weights (`configuration_mosaic_bert.py`, `modeling_mosaic_bert.py`).", ""] }
        text += ["With Lodestone's 05-embed:", "", "```bash", "swift run -c release 05-embed --model PATH --input texts.txt --output embeddings.npy", "```"]
        if !trainingFiles.isEmpty || loss != nil || !hyperparameters.isEmpty || trainingSummary != nil { text += trainingSection() }
        if !metrics.isEmpty {
            text += ["", "## Evaluation", "", "| data | metric | value |", "| --- | --- | --- |"]
            text += metrics.map { "| \(cell($0.data)) | \($0.name) | \(String(format: "%.4f", $0.value)) |" }
        }
        text += ["", "## Framework versions", "", "- Lodestone in Swift (this repository's 03-mosaic-model and 04-training)",
                 "- \(openBLASConfig().split(separator: " ").prefix(2).joined(separator: " ")) (BLAS)", ""]
        return text.joined(separator: "\n")
    }

    private func trainingSection() -> [String] {
        var text = ["", "## Training", ""]
        if let trainingSummary { text += [trainingSummary, ""] }
        if !trainingFiles.isEmpty {
            let total = trainingFiles.reduce(0) { $0 + $1.records }
            text += ["Data: \(trainingFiles.count) files, \(total) records.", "", "| file | records |", "| --- | --- |"]
            text += trainingFiles.map { "| \(cell($0.name)) | \($0.records) |" }
            text.append("")
        }
        if let loss { text += ["Loss: `\(loss)`.", ""] }
        if !hyperparameters.isEmpty {
            text += ["| hyperparameter | value |", "| --- | --- |"] + hyperparameters.map { "| \($0.name) | \(cell($0.value)) |" }
        }
        return text
    }

    /// model-index: one result per evaluation data set, in the order first seen.
    private func modelIndex(name: String) -> [String] {
        var order: [String] = []
        for m in metrics where !order.contains(m.data) { order.append(m.data) }
        var lines = ["model-index:", "- name: " + yaml(name), "  results:"]
        for data in order {
            let task = metrics.contains { $0.data == data && $0.name.contains("ndcg") } ? "information-retrieval" : "semantic-similarity"
            lines += ["  - task:", "      type: \(task)", "      name: " + yaml(task.replacingOccurrences(of: "-", with: " ").capitalized),
                      "    dataset:", "      name: " + yaml(data), "      type: " + yaml(data), "    metrics:"]
            for m in metrics where m.data == data && m.value.isFinite {
                lines += ["    - type: " + yaml(m.name), "      value: \(m.value)", "      name: " + yaml(m.name)]
            }
        }
        return lines
    }

    /// A YAML scalar: double-quoted with JSON's escapes (valid YAML), so no value can break the front matter.
    private func yaml(_ s: String) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: [s], options: [.withoutEscapingSlashes])) ?? Data("[\"\"]".utf8)
        return String(String(decoding: data, as: UTF8.self).dropFirst().dropLast())
    }

    /// Markdown table cells hold no bar or line break.
    private func cell(_ s: String) -> String {
        s.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
    }
}
