/// A problem with an input file, as the one line a user needs: `file:line: field 'x': reason`
/// (line or byte offset and field when known). Every step reports bad input through this one type.
public struct InputError: Error, CustomStringConvertible, Equatable, Sendable {
    public var file: String
    /// 1-based line of a text file.
    public var line: Int?
    /// Byte offset in a binary file.
    public var offset: Int64?
    /// The field, column or key at fault.
    public var field: String?
    public var reason: String

    public init(file: String, line: Int? = nil, offset: Int64? = nil, field: String? = nil, reason: String) {
        self.file = file; self.line = line; self.offset = offset; self.field = field; self.reason = reason
    }

    public var description: String {
        var out = file
        if let line { out += ":\(line)" }
        if let offset { out += " at byte \(offset)" }
        out += ": "
        if let field { out += "field '\(field)': " }
        return out + reason
    }
}
