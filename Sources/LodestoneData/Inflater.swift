import CIsal
import CZlib
import Foundation

/// Which inflate implementation a `GzipLineReader` uses. Both read gzip (ISA-L: gzip only; zlib: gzip or zlib
/// headers, windowBits 15+32), verify each member's CRC and length, and stop at corrupt data.
public enum InflateEngine: String, Sendable, CaseIterable {
    /// Intel ISA-L igzip: about twice zlib's speed on x86.
    case isal
    /// zlib, the reference.
    case zlib

    /// `LODESTONE_INFLATE=zlib` selects zlib; ISA-L otherwise.
    public static var `default`: InflateEngine {
        ProcessInfo.processInfo.environment["LODESTONE_INFLATE"].flatMap(InflateEngine.init(rawValue:)) ?? .isal
    }
}

enum InflateStatus {
    case progress
    /// One gzip member ended (another may follow).
    case memberEnd
    case corrupt(String)
}

/// The small interface `GzipLineReader` needs from an inflate implementation.
protocol Inflater: AnyObject {
    /// Bytes of the current input chunk not consumed yet.
    var availableInput: Int { get }
    func setInput(_ bytes: UnsafeMutableRawPointer, count: Int)
    /// Inflates into `out`; returns the bytes produced and what happened.
    func inflate(into out: UnsafeMutableRawPointer, capacity: Int) -> (produced: Int, status: InflateStatus)
    /// Prepares for the next member, keeping the unconsumed input.
    func resetForNextMember()
}

func makeInflater(_ engine: InflateEngine) throws -> Inflater {
    switch engine {
    case .isal: return IsalInflater()
    case .zlib: return try ZlibInflater()
    }
}

final class ZlibInflater: Inflater {
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

final class IsalInflater: Inflater {
    private let state: UnsafeMutablePointer<inflate_state>   // ~40 KB: on the heap, allocated once
    private var inputStart: UnsafeMutablePointer<UInt8>?

    init() {
        state = .allocate(capacity: 1)
        isal_inflate_init(state)
        state.pointee.crc_flag = UInt32(ISAL_GZIP)
    }

    deinit { state.deallocate() }

    var availableInput: Int { Int(state.pointee.avail_in) }

    func setInput(_ bytes: UnsafeMutableRawPointer, count: Int) {
        inputStart = bytes.assumingMemoryBound(to: UInt8.self)
        state.pointee.next_in = inputStart
        state.pointee.avail_in = UInt32(count)
    }

    func inflate(into out: UnsafeMutableRawPointer, capacity: Int) -> (produced: Int, status: InflateStatus) {
        state.pointee.next_out = out.assumingMemoryBound(to: UInt8.self)
        state.pointee.avail_out = UInt32(capacity)
        let rc = isal_inflate(state)
        let produced = capacity - Int(state.pointee.avail_out)
        guard rc == ISAL_DECOMP_OK else { return (produced, .corrupt(Self.message(rc))) }
        if state.pointee.block_state == ISAL_BLOCK_FINISH {
            // The bit buffer may hold whole bytes read past the member's trailer: give them back.
            let inChunk = inputStart.map { state.pointee.next_in - $0 } ?? 0
            let unread = min(Int(state.pointee.read_in_length) / 8, inChunk)
            if unread > 0 {
                state.pointee.next_in -= unread
                state.pointee.avail_in += UInt32(unread)
                state.pointee.read_in = 0
                state.pointee.read_in_length = 0
            }
            return (produced, .memberEnd)
        }
        return (produced, .progress)
    }

    func resetForNextMember() {
        let input = state.pointee.next_in, count = state.pointee.avail_in
        isal_inflate_reset(state)
        state.pointee.crc_flag = UInt32(ISAL_GZIP)
        state.pointee.next_in = input
        state.pointee.avail_in = count
    }

    static func message(_ rc: Int32) -> String {
        switch rc {
        case ISAL_INVALID_BLOCK: return "invalid deflate block"
        case ISAL_INVALID_SYMBOL: return "invalid deflate symbol"
        case ISAL_INVALID_LOOKBACK: return "invalid distance too far back"
        case ISAL_INVALID_WRAPPER: return "not a gzip header (incorrect header check)"
        case ISAL_UNSUPPORTED_METHOD: return "unsupported compression method"
        case ISAL_INCORRECT_CHECKSUM: return "incorrect data check (CRC mismatch)"
        default: return "inflate error \(rc)"
        }
    }
}
