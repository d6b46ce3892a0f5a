// What an Evaluator returns: one set's metrics under sentence-transformers' names, why any is undefined, and the
// width the embeddings were truncated to; printed by 05-embed evaluate, logged by 04-training --eval.
import Foundation
import LodestoneData

public struct EvaluationResult: Sendable {
    public var task: String
    public var data: String
    public var split: String?
    public var model: String
    /// NaN for a metric the data leaves undefined (a correlation with a constant series); see `notes`.
    public var metrics: [String: Double]
    /// Why some metrics are undefined, one line each naming the data file.
    public var notes: [String]
    /// The width the embeddings were truncated to (a Matryoshka run's evaluation at each width); nil: all of it.
    public var dimension: Int?

    public init(task: String, data: String, split: String?, model: String, metrics: [String: Double], notes: [String] = []) {
        self.task = task; self.data = data; self.split = split; self.model = model; self.metrics = metrics; self.notes = notes
    }

    /// A result whose notes say why any metric is undefined.
    public init(set: EvaluationData, data: String, split: String?, model: String, metrics: [String: Double]) {
        self.init(task: set.task, data: data, split: split, model: model, metrics: metrics,
                  notes: EvaluationResult.undefinedNotes(set, data: data, metrics: metrics))
    }

    /// Metrics without a value, in report order.
    public var undefinedNames: [String] { orderedNames.filter { !metrics[$0]!.isFinite } }

    /// The number people quote for the task: nDCG@10 for retrieval, Spearman for similarity, MRR@10 for pairs.
    public var primaryMetric: String {
        switch task {
        case "similarity": return "spearman_cosine"
        case "retrieval": return "cosine_ndcg@10"
        default: return "cosine_mrr@10"
        }
    }

    /// Metric names in the order sentence-transformers reports them.
    public var orderedNames: [String] {
        let m = RetrievalMetrics.self
        let ir = m.accuracyAt.map { "cosine_accuracy@\($0)" }
            + m.precisionRecallAt.flatMap { ["cosine_precision@\($0)", "cosine_recall@\($0)"] }
            + ["cosine_mrr@\(m.mrrAt)", "cosine_ndcg@\(m.ndcgAt)", "cosine_map@\(m.mapAt)"]
        let known = ir + ["pearson_cosine", "spearman_cosine"]
        return known.filter { metrics[$0] != nil } + metrics.keys.filter { !known.contains($0) }.sorted()
    }

    /// `name: value` lines (`name: undefined` where the data leaves it without a value).
    public var lines: [String] {
        orderedNames.map { metrics[$0]!.isFinite ? String(format: "%@: %.4f", $0, metrics[$0]!) : "\($0): undefined" }
    }

    /// The scores as JSON: an undefined metric is `null` (JSON has no NaN), and `notes` says why.
    public func json() throws -> Data {
        let values: [String: Any] = metrics.mapValues { $0.isFinite ? $0 as Any : NSNull() }
        var object: [String: Any] = ["task": task, "data": data, "model": model, "metrics": values,
                                     "primary_metric": primaryMetric]
        if let split { object["split"] = split }
        if !notes.isEmpty { object["notes"] = notes }
        return try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
    }

    /// One line per cause of undefined metrics, naming the data file: Pearson and Spearman have no value when
    /// either series is constant (every gold score equal, or every pair at the same cosine).
    public static func undefinedNotes(_ set: EvaluationData, data: String, metrics: [String: Double]) -> [String] {
        let undefined = metrics.keys.filter { !metrics[$0]!.isFinite }.sorted()
        guard !undefined.isEmpty else { return [] }
        var why = "no value"
        if case .similarity(let p) = set {
            why = Set(p.scores).count == 1 ? "every gold score is \(p.scores[0]), so a correlation with it has no value"
                : "the model gives every pair the same cosine similarity, so a correlation with it has no value"
        }
        return ["\(data): \(undefined.joined(separator: " and ")) undefined: \(why)"]
    }
}
