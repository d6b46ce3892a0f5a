import CZlib
import Foundation

/// What one inflate call ended with.
enum InflateStatus {
    case progress
    /// One gzip member ended (another may follow).
    case memberEnd
    case corrupt(String)
}

/// zlib inflate over gzip members (windowBits 15+32), one member at a time; CRC and length are checked by zlib.
final class ZlibInflater {
    private let stream: UnsafeMutablePointer<z_stream>   // zlib keeps a pointer back to it: must not move

    init() throws {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        guard lodestone_inflate_init2(stream, 15 + 32) == Z_OK else {
            stream.deallocate()
            throw DataError.gzip(name: "zlib", offset: 0, reason: "zlib could not start (out of memory?)")
        }
    }

    deinit {
        inflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    var availableInput: Int { Int(stream.pointee.avail_in) }

    func setInput(_ bytes: UnsafeMutableRawPointer, count: Int) {
        stream.pointee.next_in = bytes.assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_in = uInt(count)
    }

    func inflate(into out: UnsafeMutableRawPointer, capacity: Int) -> (produced: Int, status: InflateStatus) {
        stream.pointee.next_out = out.assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_out = uInt(capacity)
        let rc = CZlib.inflate(stream, Z_NO_FLUSH)
        let produced = capacity - Int(stream.pointee.avail_out)
        switch rc {
        case Z_OK, Z_BUF_ERROR: return (produced, .progress)
        case Z_STREAM_END: return (produced, .memberEnd)
        default: return (produced, .corrupt(stream.pointee.msg.map { String(cString: $0) } ?? "zlib error \(rc)"))
        }
    }

    func resetForNextMember() { inflateReset(stream) }
}
