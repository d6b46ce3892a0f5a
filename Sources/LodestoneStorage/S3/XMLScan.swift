import Foundation

/// Just enough XML for S3's flat responses (ListObjectsV2, CreateMultipartUpload, errors):
/// find elements by name and decode entities. S3 never nests an element inside one of the same name.
enum XMLScan {
    /// Text of every `<name>…</name>` in order.
    static func all(_ name: String, in text: String) -> [String] {
        var result: [String] = []
        let open = "<\(name)>", close = "</\(name)>"
        var rest = text[...]
        while let a = rest.range(of: open), let b = rest.range(of: close, range: a.upperBound..<rest.endIndex) {
            result.append(decode(rest[a.upperBound..<b.lowerBound]))
            rest = rest[b.upperBound...]
        }
        return result
    }

    static func first(_ name: String, in text: String) -> String? {
        let open = "<\(name)>", close = "</\(name)>"
        guard let a = text.range(of: open), let b = text.range(of: close, range: a.upperBound..<text.endIndex) else { return nil }
        return decode(text[a.upperBound..<b.lowerBound])
    }

    static func decode(_ s: Substring) -> String {
        guard s.contains("&") else { return String(s) }
        var out = ""
        var i = s.startIndex
        while i < s.endIndex {
            if s[i] == "&", let semi = s[i...].firstIndex(of: ";") {
                let entity = s[s.index(after: i)..<semi]
                var replacement: String?
                switch entity {
                case "amp": replacement = "&"
                case "lt": replacement = "<"
                case "gt": replacement = ">"
                case "quot": replacement = "\""
                case "apos": replacement = "'"
                default:
                    if entity.hasPrefix("#x"), let v = UInt32(entity.dropFirst(2), radix: 16), let u = Unicode.Scalar(v) { replacement = String(u) }
                    else if entity.hasPrefix("#"), let v = UInt32(entity.dropFirst()), let u = Unicode.Scalar(v) { replacement = String(u) }
                }
                if let r = replacement { out += r; i = s.index(after: semi); continue }
            }
            out.append(s[i]); i = s.index(after: i)
        }
        return out
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
