// Hard-negative mining by sentence-transformers' rules (`util.mine_hard_negatives`, output_format "n-tuple"):
// the plan (deduplicated corpus and anchors) and the choice of one anchor's negatives among its nearest texts.
// HardNegativeMiner runs it over a whole data set with a model.
import Foundation

public enum HardNegativeMining {
    public enum Sampling: Equatable, Sendable {
        /// The best-scoring candidates that pass the filters.
        case top
        /// `numNegatives` drawn uniformly from the candidates in the window, kept best first (seeded).
        case random(seed: UInt64)
    }

    /// What to mine, under sentence-transformers' parameter names. Scores are cosine similarities.
    public struct Settings: Equatable, Sendable {
        public var numNegatives = 3
        /// Skip this many of the best candidates that pass the filters (likely unlabelled positives).
        public var rangeMin = 0
        /// Consider only this many of the best candidates that pass the filters; nil: derived as
        /// sentence-transformers derives it (`Plan.rangeMax`).
        public var rangeMax: Int?
        public var maxScore: Float?
        public var minScore: Float?
        /// Keep a candidate only when `score + margin <= positive score`.
        public var absoluteMargin: Float?
        /// Keep a candidate only when `score <= positive - |positive| * margin`.
        public var relativeMargin: Float?
        public var sampling = Sampling.top
        public init() {}

        /// The first rule these settings break (sentence-transformers' own checks, plus finite numbers), or nil.
        public var problem: String? {
            if numNegatives < 1 { return "--num-negatives must be at least 1, found \(numNegatives)" }
            if rangeMin < 0 { return "--range-min must be at least 0, found \(rangeMin)" }
            if let rangeMax {
                if rangeMax <= rangeMin { return "--range-max must be larger than --range-min \(rangeMin), found \(rangeMax)" }
                if numNegatives > rangeMax - rangeMin {
                    return "--num-negatives \(numNegatives) does not fit between --range-min \(rangeMin) and --range-max \(rangeMax) (\(rangeMax - rangeMin) candidates)"
                }
            }
            for (flag, value) in [("--max-score", maxScore), ("--min-score", minScore), ("--absolute-margin", absoluteMargin),
                                  ("--relative-margin", relativeMargin)] {
                if let value, !value.isFinite { return "\(flag) must be a finite number, found \(value)" }
            }
            if let minScore, let maxScore, minScore > maxScore {
                return "--min-score \(minScore) is above --max-score \(maxScore): no candidate could pass"
            }
            return nil
        }
    }

    /// The texts mining works on, deduplicated as sentence-transformers does: the corpus is the extra corpus (if
    /// any) followed by every positive, each distinct text once; the anchors are the distinct anchors in order of
    /// first appearance, each with its distinct positives (indices into the corpus) in order of appearance.
    public struct Plan: Sendable {
        public var corpus: [String] = []
        public var anchors: [String] = []
        public var positives: [[Int]] = []
        /// The anchor's own text in the corpus, never its negative.
        public var anchorInCorpus: [Int?] = []
        /// The most rows any anchor has in the input (duplicate rows included, as pandas' groupby counts them).
        public var maxPositives = 0
        public let settings: Settings
        /// The settings' `rangeMax`, or the one derived from them: range_min + num_negatives (× 10 when a margin or
        /// max score will remove candidates) + max_positives.
        public let rangeMax: Int
        /// Nearest texts retrieved per anchor before anything is removed: the anchor itself and its positives may
        /// be among them (range_max + max_positives + 1).
        public var candidateCount: Int { rangeMax + maxPositives + 1 }
        /// (anchor, positive) rows mining can write: one per anchor and distinct positive.
        public var rowCount: Int { positives.reduce(0) { $0 + $1.count } }

        public init(pairs: [(String, String)], corpus extra: [String]? = nil, settings: Settings) {
            var corpus: [String] = [], corpusIndex: [String: Int] = [:]
            func add(_ text: String) -> Int {
                if let i = corpusIndex[text] { return i }
                corpusIndex[text] = corpus.count
                corpus.append(text)
                return corpus.count - 1
            }
            for text in extra ?? [] { _ = add(text) }
            var anchors: [String] = [], positives: [[Int]] = [], anchorIndex: [String: Int] = [:], rows: [Int] = []
            for (anchor, positive) in pairs {
                let p = add(positive)
                let a: Int
                if let known = anchorIndex[anchor] { a = known } else {
                    a = anchors.count
                    anchorIndex[anchor] = a
                    anchors.append(anchor); positives.append([]); rows.append(0)
                }
                rows[a] += 1
                if !positives[a].contains(p) { positives[a].append(p) }
            }
            self.corpus = corpus
            self.anchors = anchors
            self.positives = positives
            anchorInCorpus = anchors.map { corpusIndex[$0] }
            maxPositives = rows.max() ?? 0
            self.settings = settings
            let s = settings
            let filtering = s.absoluteMargin != nil || s.relativeMargin != nil || s.maxScore != nil
            rangeMax = s.rangeMax ?? s.rangeMin + s.numNegatives * (filtering ? 10 : 1) + maxPositives
        }
    }

    /// Candidates each filter removed, counted as sentence-transformers counts them: in this order, each one
    /// among those the earlier ones left.
    public struct Skipped: Equatable, Sendable {
        public var absoluteMargin = 0, relativeMargin = 0, maxScore = 0, minScore = 0
        public init() {}
    }

    /// One anchor's negatives, best first, as corpus indices with their scores; nil when fewer than
    /// `numNegatives` are left (sentence-transformers' n-tuple format then drops the anchor's rows).
    /// `hits`: the anchor's `candidateCount` nearest corpus texts, best first. `excluded`: its own text and its
    /// positives. `positiveScore`: its lowest positive score (the margins are taken from the hardest positive).
    public static func choose<G: RandomNumberGenerator>(hits: [(index: Int, score: Float)], excluded: Set<Int>,
                                                        positiveScore: Float, settings s: Settings, rangeMax: Int,
                                                        skipped: inout Skipped, generator: inout G) -> [(index: Int, score: Float)]? {
        var passed: [(index: Int, score: Float)] = []
        passed.reserveCapacity(min(hits.count, rangeMax))
        for hit in hits where !excluded.contains(hit.index) {
            // Float arithmetic, as torch compares float32 scores with the margins.
            if let m = s.absoluteMargin, hit.score + m > positiveScore { skipped.absoluteMargin += 1; continue }
            if let m = s.relativeMargin, hit.score > positiveScore - abs(positiveScore) * m { skipped.relativeMargin += 1; continue }
            if let m = s.maxScore, hit.score > m { skipped.maxScore += 1; continue }
            if let m = s.minScore, hit.score < m { skipped.minScore += 1; continue }
            passed.append(hit)
        }
        // The window: ranks rangeMin..<rangeMax of the candidates that passed.
        let window = passed.prefix(rangeMax).dropFirst(s.rangeMin)
        guard window.count >= s.numNegatives else { return nil }
        switch s.sampling {
        case .top:
            return Array(window.prefix(s.numNegatives))
        case .random:
            var slots = Array(window.indices)
            for i in 0..<s.numNegatives { slots.swapAt(i, Int.random(in: i..<slots.count, using: &generator)) }
            return slots.prefix(s.numNegatives).sorted().map { window[$0] }
        }
    }
}
