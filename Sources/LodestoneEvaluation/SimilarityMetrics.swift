// sentence-transformers' EmbeddingSimilarityEvaluator, cosine metrics: Pearson and Spearman of each pair's cosine
// similarity against its gold score.
import Foundation

public enum SimilarityMetrics {
    /// EmbeddingSimilarityEvaluator's cosine metrics: Pearson and Spearman (average ranks for ties) of the
    /// cosine similarity of each pair against its gold score.
    public static func similarity(first: [[Float]], second: [[Float]], gold: [Double]) -> [String: Double] {
        let cosines = zip(first, second).map { a, b in cosine(a, b) }
        return ["pearson_cosine": pearson(gold, cosines), "spearman_cosine": pearson(ranks(gold), ranks(cosines))]
    }

    /// a·b / (‖a‖ ‖b‖), in Double, each norm at least 1e-12.
    static func cosine(_ a: [Float], _ b: [Float]) -> Double {
        var dot = 0.0, na = 0.0, nb = 0.0
        for (x, y) in zip(a, b) { dot += Double(x) * Double(y); na += Double(x) * Double(x); nb += Double(y) * Double(y) }
        return dot / (max(na.squareRoot(), 1e-12) * max(nb.squareRoot(), 1e-12))
    }

    static func pearson(_ x: [Double], _ y: [Double]) -> Double {
        let n = Double(x.count)
        let mx = x.reduce(0, +) / n, my = y.reduce(0, +) / n
        var sxy = 0.0, sxx = 0.0, syy = 0.0
        for (a, b) in zip(x, y) { sxy += (a - mx) * (b - my); sxx += (a - mx) * (a - mx); syy += (b - my) * (b - my) }
        return sxy / (sxx * syy).squareRoot()
    }

    /// 1-based ranks, ties sharing the average of their positions (as scipy's rankdata).
    public static func ranks(_ values: [Double]) -> [Double] {
        let order = values.indices.sorted { values[$0] < values[$1] }
        var out = [Double](repeating: 0, count: values.count)
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && values[order[j + 1]] == values[order[i]] { j += 1 }
            for k in i...j { out[order[k]] = Double(i + j) / 2 + 1 }
            i = j + 1
        }
        return out
    }
}
