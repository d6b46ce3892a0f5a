import Foundation
import LodestoneStorage
import LodestoneData

/// The examples of one data file, a line at a time: `nil` at the end of the file.
public protocol ExampleLineSource: AnyObject {
    /// The examples of the next line ([] for a blank or malformed line), or nil at the end.
    func nextLine() throws -> [TrainingExample]?
    /// Passes over the next line without building its examples when it yields at most `limit` of them;
    /// otherwise returns them. nil at the end. (Skipping whole lines is what makes a long skip cheap.)
    func nextLine(skippingAtMost limit: Int) throws -> LineOrSkip?
    /// Passes over the next line unread; false at the end.
    func skipLine() throws -> Bool
    func close()
}

/// A line passed over (how many examples with two or more texts it held) or read.
public enum LineOrSkip {
    case skipped(examples: Int)
    case read([TrainingExample])
}

extension ExampleLineSource {
    public func nextLine(skippingAtMost limit: Int) throws -> LineOrSkip? {
        guard let examples = try nextLine() else { return nil }
        let usable = examples.filter { $0.texts.count >= 2 }
        return usable.count <= limit ? .skipped(examples: usable.count) : .read(usable)
    }

    public func skipLine() throws -> Bool { try nextLine() != nil }
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
/// Memory holds one line's examples, whatever the file's size or how far `skip` jumps.
public final class EndlessExampleReader {
    public let key: String
    public private(set) var position: ReaderPosition
    /// Examples in one whole pass over the file, once a pass has been read from its first line to its end.
    public private(set) var examplesPerPass: Int?
    private let maxWords: Int
    private let open: ExampleFileOpener
    private var source: ExampleLineSource?
    /// The examples of line `position.lines` (texts not yet cut); [] when that line was passed over by `skip`.
    private var line: [TrainingExample] = []
    /// Examples taken in this pass; a count of the whole pass only when the pass was read from its first line.
    private var examplesThisPass = 0
    private var passReadFromStart = true

    /// A reader that will continue from `position` (the start of the file by default) on its first `next()`.
    public init(key: String, maxWords: Int, position: ReaderPosition = ReaderPosition(), open: @escaping ExampleFileOpener) {
        self.key = key; self.maxWords = maxWords; self.position = position; self.open = open
    }

    deinit { source?.close() }

    /// Continues from `position` on the next `next()` or `skip` (reopening the file).
    public func seek(to position: ReaderPosition) {
        source?.close(); source = nil
        line = []
        self.position = position
    }

    public func next() throws -> TrainingExample {
        if source == nil { try reopenAtPosition() }
        while position.usedOfLine >= line.count {
            guard let examples = try source!.nextLine() else { try startNextPass(); continue }
            line = examples.filter { $0.texts.count >= 2 }
            position.lines += 1
            position.usedOfLine = 0
        }
        let example = line[position.usedOfLine]
        position.usedOfLine += 1
        examplesThisPass += 1
        return TrainingExample(texts: example.texts.map { truncateWords($0, to: maxWords) })
    }

    /// Moves on `n` examples, landing exactly where `n` calls of `next()` would. Lines are counted, not decoded,
    /// and once a whole pass has been counted, whole passes are jumped at once: from just after an example,
    /// `examplesPerPass` examples later the reader stands just after the same example one pass on. So a skip
    /// costs at most about three readings of the file, however large `n` is.
    public func skip(_ n: Int) throws {
        precondition(n >= 0, "skip(\(n))")
        var left = n
        if left > 0, source == nil { try reopenAtPosition() }
        while left > 0 {
            if let perPass = examplesPerPass, position.usedOfLine > 0, left >= perPass {
                position.pass += left / perPass
                left %= perPass
                continue
            }
            let available = line.count - position.usedOfLine
            if available > 0 {
                let taken = min(left, available)
                position.usedOfLine += taken; examplesThisPass += taken; left -= taken
                continue
            }
            guard let next = try source!.nextLine(skippingAtMost: left) else { try startNextPass(); continue }
            position.lines += 1
            switch next {
            case .skipped(let count):
                line = []
                position.usedOfLine = count; examplesThisPass += count; left -= count
            case .read(let examples):
                line = examples.filter { $0.texts.count >= 2 }
                position.usedOfLine = 0
            }
        }
    }

    /// End of the file: start over, unless a whole pass yielded nothing (an endless loop otherwise).
    private func startNextPass() throws {
        if passReadFromStart {
            if examplesThisPass == 0 {
                throw TrainingError.data(key: key, line: position.lines, reason: "file holds no training examples")
            }
            examplesPerPass = examplesThisPass
        }
        source?.close(); source = try open(key)
        position = ReaderPosition(pass: position.pass + 1)
        line = []; examplesThisPass = 0; passReadFromStart = true
    }

    /// Reopens the file and passes over lines up to `position` (only the last one is decoded), so that `next()`
    /// continues exactly there.
    private func reopenAtPosition() throws {
        let target = position
        source = try open(key)
        line = []
        if target.lines > 0 {
            for lineNumber in 0..<target.lines {
                let present = lineNumber == target.lines - 1
                    ? try source!.nextLine().map { line = $0.filter { $0.texts.count >= 2 } } != nil
                    : try source!.skipLine()
                guard present else {
                    throw TrainingError.data(key: key, line: lineNumber, reason: "resume position \(target.lines) lies past the end of the file; was it replaced?")
                }
            }
        }
        examplesThisPass = 0
        passReadFromStart = target.lines == 0
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
