import Foundation
import LodestoneStorage
import LodestoneData

/// The examples of one data file, a line at a time: `nil` at the end of the file.
public protocol ExampleLineSource: AnyObject {
    /// The examples of the next line ([] for a blank or malformed line), or nil at the end.
    func nextLine() throws -> [TrainingExample]?
    func close()
}

/// Opens a data file (store key) from its beginning.
public typealias ExampleFileOpener = (_ key: String) throws -> ExampleLineSource

/// Where an endless reader stands: in its `pass`-th reading of the file, after `lines` lines, of which the last
/// has given `usedOfLine` of its examples. Enough to reopen the file and skip to the same example.
public struct ReaderPosition: Codable, Equatable, Sendable {
    public var pass = 0
    public var lines = 0
    public var usedOfLine = 0
    public init(pass: Int = 0, lines: Int = 0, usedOfLine: Int = 0) {
        self.pass = pass; self.lines = lines; self.usedOfLine = usedOfLine
    }
}

/// One data file as an endless stream of examples: reopened at the end, as the original's generators were.
/// Every text is cut to its first `maxWords` space-separated words; examples with fewer than two texts are skipped.
public final class EndlessExampleReader {
    public let key: String
    public private(set) var position: ReaderPosition
    private let maxWords: Int
    private let open: ExampleFileOpener
    private var source: ExampleLineSource?
    private var line: [TrainingExample] = []
    private var examplesThisPass = 0

    /// A reader that will continue from `position` (the start of the file by default) on its first `next()`.
    public init(key: String, maxWords: Int, position: ReaderPosition = ReaderPosition(), open: @escaping ExampleFileOpener) {
        self.key = key; self.maxWords = maxWords; self.position = position; self.open = open
    }

    deinit { source?.close() }

    /// Continues from `position` on the next `next()` (reopening the file).
    public func seek(to position: ReaderPosition) {
        source?.close(); source = nil
        self.position = position
    }

    public func next() throws -> TrainingExample {
        if source == nil { try reopenAtPosition() }
        while position.usedOfLine >= line.count {
            guard let examples = try source!.nextLine() else {
                // End of the file: start over, unless a whole pass yielded nothing (an endless loop otherwise).
                if examplesThisPass == 0 {
                    throw TrainingError.data(key: key, line: position.lines, reason: "file holds no training examples")
                }
                source?.close(); source = try open(key)
                position = ReaderPosition(pass: position.pass + 1)
                line = []; examplesThisPass = 0
                continue
            }
            line = examples.compactMap(prepare)
            position.lines += 1
            position.usedOfLine = 0
        }
        let example = line[position.usedOfLine]
        position.usedOfLine += 1
        examplesThisPass += 1
        return example
    }

    /// Reopens the file and reads forward to `position`, so that `next()` continues exactly there.
    private func reopenAtPosition() throws {
        let target = position
        source = try open(key)
        line = []
        for lineNumber in 0..<target.lines {
            guard let examples = try source!.nextLine() else {
                throw TrainingError.data(key: key, line: lineNumber, reason: "resume position \(target.lines) lies past the end of the file; was it replaced?")
            }
            if lineNumber == target.lines - 1 { line = examples.compactMap(prepare) }
        }
        examplesThisPass = target.lines > 0 ? 1 : 0
    }

    /// Cuts each text to `maxWords` space-separated words (the original's rule); drops examples without a pair.
    private func prepare(_ example: TrainingExample) -> TrainingExample? {
        guard example.texts.count >= 2 else { return nil }
        return TrainingExample(texts: example.texts.map { truncateWords($0, to: maxWords) })
    }
}

/// The first `n` space-separated words of `text` (" ".join(text.split(" ")[:n]) in Python).
public func truncateWords(_ text: String, to n: Int) -> String {
    var spaces = 0
    for (i, byte) in text.utf8.enumerated() where byte == 0x20 {
        spaces += 1
        if spaces == n {
            let end = text.utf8.index(text.utf8.startIndex, offsetBy: i)
            return String(text[..<end])
        }
    }
    return text
}
