// Path arithmetic on text, for paths the user typed. Foundation's `NSString.deletingLastPathComponent` traps
// (illegal instruction, swift-corelibs-foundation of Swift 6.3) on a one-character path without a slash, such as
// `--output m` or `--output .`, so every parent of a user's path is taken here instead.

/// The directory part of `path`, as `NSString.deletingLastPathComponent` defines it: "a/b" → "a", "/x" → "/",
/// "x" → "", "/" → "/", trailing slashes ignored ("a/b/" → "a").
public func parentPath(_ path: String) -> String {
    var p = Substring(path)
    while p.count > 1, p.hasSuffix("/") { p = p.dropLast() }
    guard let slash = p.lastIndex(of: "/") else { return "" }
    if slash == p.startIndex { return "/" }
    var parent = p[..<slash]
    while parent.count > 1, parent.hasSuffix("/") { parent = parent.dropLast() }
    return String(parent)
}
