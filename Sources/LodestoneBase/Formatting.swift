import Foundation

/// Decimal units, as disks and S3 consoles count: `1.5 GB`.
public func formatBytes(_ bytes: Int64) -> String {
    let units = ["B", "KB", "MB", "GB", "TB", "PB"]
    var value = Double(bytes), unit = 0
    while abs(value) >= 1000 && unit < units.count - 1 { value /= 1000; unit += 1 }
    return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
}

public func formatRate(_ bytesPerSecond: Double) -> String {
    formatBytes(Int64(bytesPerSecond.isFinite ? bytesPerSecond : 0)) + "/s"
}

/// `h:mm:ss`, or `Nd h:mm:ss` past a day (the full schedule runs for weeks on CPUs); `?` when unknown.
public func formatDuration(_ seconds: Double) -> String {
    guard seconds.isFinite, seconds >= 0 else { return "?" }
    var s = Int(seconds.rounded())
    let days = s / 86_400; s %= 86_400
    let text = String(format: "%d:%02d:%02d", s / 3600, (s / 60) % 60, s % 60)
    return days > 0 ? "\(days)d \(text)" : text
}

/// Binary units, as memory is counted (and as `parseMemorySize` reads them): `5.4 GiB`.
public func formatMemory(_ bytes: Int) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var value = Double(bytes), unit = 0
    while abs(value) >= 1024 && unit < units.count - 1 { value /= 1024; unit += 1 }
    return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
}

/// A memory size as people write it: `512M`, `1.5G`, `6GiB`, `800MB`, `1073741824`. K, M, G and T count in
/// powers of 1024 with or without `B`/`iB`. nil for anything else, or for less than one byte.
public func parseMemorySize(_ text: String) -> Int? {
    let t = text.trimmingCharacters(in: .whitespaces).uppercased()
    let digits = t.prefix { $0.isNumber || $0 == "." }
    guard let value = Double(digits), value.isFinite else { return nil }
    var unit = t.dropFirst(digits.count).trimmingCharacters(in: .whitespaces)
    if unit.count == 3, unit.hasSuffix("IB") { unit.removeLast(2) } else if unit.hasSuffix("B") { unit.removeLast() }
    let shifts: [String: Double] = ["": 1, "K": 0x1p10, "M": 0x1p20, "G": 0x1p30, "T": 0x1p40]
    guard let scale = shifts[unit] else { return nil }
    let bytes = value * scale
    return bytes >= 1 && bytes < 0x1p62 ? Int(bytes) : nil
}
