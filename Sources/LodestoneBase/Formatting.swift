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
