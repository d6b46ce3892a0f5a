// Evaluation sets in the layouts the sentence-transformers ecosystem uses, recognised from the path:
//   a BEIR directory   corpus.jsonl ({"_id", "title", "text"}), queries.jsonl ({"_id", "text"}) (either may be .gz),
//                      qrels/<split>.tsv (query-id, corpus-id, score; a header line)
//   scored pairs       .tsv with a header naming sentence1, sentence2, score; or .jsonl lines with those keys
//   pairs              .jsonl anchor/positive pairs (see TextFiles.readPairs)
// Every bad line is one error naming the file, the line and the field.
import Foundation
import LodestoneBase

/// A retrieval task: queries, a corpus, and for each query the corpus entries that answer it.
public struct RetrievalSet: Sendable {
    public var corpusIDs: [String] = []
    /// `title + " " + text` when a title is given (as BEIR's own sentence-transformers wrapper joins them).
    public var corpusTexts: [String] = []
    /// Only queries with at least one relevant document (sentence-transformers' evaluator drops the others).
    public var queryIDs: [String] = []
    public var queryTexts: [String] = []
    /// Indices into the corpus of each query's relevant documents (qrels score > 0).
    public var relevant: [Set<Int>] = []
    public var split: String = ""
    public init() {}

    /// Anchor/positive pairs as retrieval: every anchor against all positives, its own one relevant.
    public init(pairs: [(String, String)]) {
        corpusIDs = pairs.indices.map { "p\($0)" }
        corpusTexts = pairs.map(\.1)
        queryIDs = pairs.indices.map { "q\($0)" }
        queryTexts = pairs.map(\.0)
        relevant = pairs.indices.map { [$0] }
    }
}

/// Sentence pairs with a gold similarity score.
public struct ScoredPairs: Sendable {
    public var first: [String] = []
    public var second: [String] = []
    public var scores: [Double] = []
    public init() {}
    public var count: Int { scores.count }
}

public enum EvaluationData: Sendable {
    case retrieval(RetrievalSet)
    case similarity(ScoredPairs)
    case pairs(RetrievalSet)

    /// The task name written in results: "retrieval", "similarity" or "pairs".
    public var task: String {
        switch self {
        case .retrieval: return "retrieval"
        case .similarity: return "similarity"
        case .pairs: return "pairs"
        }
    }

    /// Reads `path`, recognising its layout. `split` picks the qrels file of a BEIR directory (default: test,
    /// or the only split there is).
    public static func load(_ path: String, split: String? = nil) throws -> EvaluationData {
        if Directory.exists(path) { return .retrieval(try EvaluationFiles.readBEIR(path, split: split)) }
        if path.lowercased().hasSuffix(".tsv") { return .similarity(try EvaluationFiles.readScoredPairsTSV(path)) }
        let lines = try TextFiles.readLines(path)
        if let first = lines.first(where: { !$0.allSatisfy(\.isWhitespace) }),
           let object = (try? JSONSerialization.jsonObject(with: Data(first.utf8))) as? [String: Any],
           object["sentence1"] != nil {
            return .similarity(try EvaluationFiles.readScoredPairsJSONL(path, lines: lines))
        }
        return .pairs(RetrievalSet(pairs: try TextFiles.readPairs(path)))
    }
}

public enum EvaluationFiles {
    public static func readBEIR(_ directory: String, split: String?) throws -> RetrievalSet {
        // As BEIR's own files, or gzipped as the Hub's copies ship them.
        func find(_ name: String) throws -> String {
            guard let file = [name, name + ".gz"].map({ directory + "/" + $0 }).first(where: { FileManager.default.fileExists(atPath: $0) }) else {
                throw InputError(file: directory, reason: "not a BEIR directory: no \(name) (or \(name).gz)")
            }
            return file
        }
        let corpusFile = try find("corpus.jsonl"), queriesFile = try find("queries.jsonl")
        let qrelsFile = try qrelsPath(directory, split: split)
        var set = RetrievalSet()
        let qrelsName = (qrelsFile as NSString).lastPathComponent
        set.split = String(qrelsName.dropLast(qrelsName.hasSuffix(".gz") ? 7 : 4))   // less .tsv(.gz)

        var corpusIndex: [String: Int] = [:]
        try forEachObject(corpusFile) { line, object in
            let id = try string(object, "_id", corpusFile, line)
            let text = try string(object, "text", corpusFile, line)
            let title = object["title"] as? String ?? ""
            guard corpusIndex[id] == nil else { throw InputError(file: corpusFile, line: line, field: "_id", reason: "duplicate id '\(id)'") }
            corpusIndex[id] = set.corpusIDs.count
            set.corpusIDs.append(id)
            set.corpusTexts.append(title.isEmpty ? text : (title + " " + text).trimmingCharacters(in: .whitespaces))
        }
        var queries: [(id: String, text: String)] = [], queryIndex: [String: Int] = [:]
        try forEachObject(queriesFile) { line, object in
            let id = try string(object, "_id", queriesFile, line)
            guard queryIndex[id] == nil else { throw InputError(file: queriesFile, line: line, field: "_id", reason: "duplicate id '\(id)'") }
            queryIndex[id] = queries.count
            queries.append((id, try string(object, "text", queriesFile, line)))
        }
        var relevant = [Set<Int>](repeating: [], count: queries.count)
        for (i, line) in try TextFiles.readLines(qrelsFile).enumerated() where !line.allSatisfy(\.isWhitespace) {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            if i == 0, fields.first == "query-id" || fields.first == "query_id" { continue }
            guard fields.count >= 3 else { throw InputError(file: qrelsFile, line: i + 1, reason: "expected query-id, corpus-id, score separated by tabs") }
            guard let q = queryIndex[fields[0]] else { throw InputError(file: qrelsFile, line: i + 1, field: "query-id", reason: "unknown query '\(fields[0])'") }
            guard let c = corpusIndex[fields[1]] else { throw InputError(file: qrelsFile, line: i + 1, field: "corpus-id", reason: "unknown document '\(fields[1])'") }
            guard let score = Double(fields[2]) else { throw InputError(file: qrelsFile, line: i + 1, field: "score", reason: "'\(fields[2])' is not a number") }
            if score > 0 { relevant[q].insert(c) }
        }
        for (q, docs) in relevant.enumerated() where !docs.isEmpty {
            set.queryIDs.append(queries[q].id)
            set.queryTexts.append(queries[q].text)
            set.relevant.append(docs)
        }
        guard !set.queryIDs.isEmpty else { throw InputError(file: qrelsFile, reason: "no query has a relevant document") }
        return set
    }

    /// qrels/<split>.tsv: the one asked for, else test.tsv, else the only one there is.
    static func qrelsPath(_ directory: String, split: String?) throws -> String {
        let dir = directory + "/qrels"
        var files: [String: String] = [:]   // split → file name (.tsv, or .tsv.gz)
        for name in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] {
            for ext in [".tsv", ".tsv.gz"] where name.hasSuffix(ext) { files[String(name.dropLast(ext.count)), default: name] = name }
        }
        let splits = files.keys.sorted()
        guard !splits.isEmpty else { throw InputError(file: dir, reason: "no qrels/<split>.tsv") }
        if let split {
            guard let name = files[split] else { throw InputError(file: dir, reason: "no split '\(split)' (there is \(splits.joined(separator: ", ")))") }
            return dir + "/" + name
        }
        if let test = files["test"] { return dir + "/" + test }
        guard splits.count == 1 else { throw InputError(file: dir, reason: "several splits (\(splits.joined(separator: ", "))): choose one with --split") }
        return dir + "/" + files[splits[0]]!
    }

    public static func readScoredPairsTSV(_ path: String) throws -> ScoredPairs {
        let lines = try TextFiles.readLines(path)
        guard let header = lines.first?.split(separator: "\t", omittingEmptySubsequences: false).map({ $0.trimmingCharacters(in: .whitespaces) }) else {
            throw InputError(file: path, reason: "empty file")
        }
        var column: [String: Int] = [:]
        for name in ["sentence1", "sentence2", "score"] {
            guard let i = header.firstIndex(of: name) else {
                throw InputError(file: path, line: 1, field: name, reason: "missing from the header (need sentence1, sentence2, score)")
            }
            column[name] = i
        }
        var pairs = ScoredPairs()
        for (i, line) in lines.enumerated().dropFirst() where !line.allSatisfy(\.isWhitespace) {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard fields.count == header.count else {
                throw InputError(file: path, line: i + 1, reason: "\(fields.count) fields, the header has \(header.count)")
            }
            let raw = fields[column["score"]!].trimmingCharacters(in: .whitespaces)
            guard let score = Double(raw), score.isFinite else { throw InputError(file: path, line: i + 1, field: "score", reason: "'\(raw)' is not a number") }
            pairs.first.append(fields[column["sentence1"]!]); pairs.second.append(fields[column["sentence2"]!]); pairs.scores.append(score)
        }
        return pairs
    }

    public static func readScoredPairsJSONL(_ path: String, lines: [String]? = nil) throws -> ScoredPairs {
        var pairs = ScoredPairs()
        try forEachObject(path, lines: lines) { line, object in
            pairs.first.append(try string(object, "sentence1", path, line))
            pairs.second.append(try string(object, "sentence2", path, line))
            guard !(object["score"] is String), let score = (object["score"] as? NSNumber)?.doubleValue, score.isFinite else {
                throw InputError(file: path, line: line, field: "score", reason: "missing or not a number")
            }
            pairs.scores.append(score)
        }
        return pairs
    }

    /// Calls `body(lineNumber, object)` for every non-blank JSON-object line.
    static func forEachObject(_ path: String, lines: [String]? = nil, _ body: (Int, [String: Any]) throws -> Void) throws {
        for (i, line) in try (lines ?? TextFiles.readLines(path)).enumerated() where !line.allSatisfy(\.isWhitespace) {
            guard let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else {
                throw InputError(file: path, line: i + 1, reason: "not a JSON object")
            }
            try body(i + 1, object)
        }
    }

    static func string(_ object: [String: Any], _ key: String, _ file: String, _ line: Int) throws -> String {
        if let s = object[key] as? String { return s }
        if key == "_id", let n = object[key] as? NSNumber { return n.stringValue }   // BEIR ids are sometimes numbers
        throw InputError(file: file, line: line, field: key, reason: "missing or not a string")
    }
}
