import CCurl
import Foundation

/// A pull-style HTTP GET body: `read` hands out bytes as the caller asks for them, so a consumer of any
/// speed (gzip decoder, S3 part upload, file) sees bounded memory. Driven by libcurl's multi interface on
/// the caller's thread: the write callback pauses the transfer once ~1 MB is waiting.
///
/// Transient failures (connection reset, short body, stall, 5xx, 429) are retried with backoff, resuming
/// with `Range` from the first byte not yet delivered. If the server ignores the range on a resume
/// (answers 200), the stream fails with `StorageError.notResumable` so the caller can start over.
public final class HTTPStream: ByteReader {
    let client: HTTPClient
    let request: HTTPRequest
    let shownURL: String
    /// First byte offset of the stream (from the request's range) and bytes handed out since.
    let startOffset: Int64
    public private(set) var delivered: Int64 = 0
    /// Total size of the whole resource when the server said (Content-Length / Content-Range).
    public private(set) var resourceSize: Int64?
    /// Bytes this stream will deliver in all, when known.
    public private(set) var expectedLength: Int64?
    public private(set) var headers: [String: String] = [:]
    /// Attempts used so far (1 = no retry yet); visible for tests and logs.
    public private(set) var attempts = 0

    private var multi: UnsafeMutableRawPointer?
    private var transfer: CurlTransfer?
    private var buffer: UnsafeMutableRawPointer
    private var capacity = 4 << 20
    private var head = 0, tail = 0
    private let highWater = 1 << 20
    private var paused = false
    private var finished = false
    private var lastProgress = Date()
    private var closed = false
    private var headersSeen = false

    init(client: HTTPClient, request: HTTPRequest) throws {
        self.client = client; self.request = request
        shownURL = redactedURL(request.url)
        startOffset = request.range?.lowerBound ?? 0
        buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        guard let m = curl_multi_init() else { throw StorageError.transport(url: shownURL, reason: "curl_multi_init failed") }
        multi = m
        try startWithRetries()
    }

    deinit {
        close()
        buffer.deallocate()
    }

    public func close() {
        guard !closed else { return }
        closed = true
        detach()
        if let m = multi { curl_multi_cleanup(m) }
        multi = nil
    }

    public func read(into out: UnsafeMutableRawBufferPointer) throws -> Int {
        if out.count == 0 { return 0 }
        while tail == head {
            if finished { return 0 }
            try pump()
        }
        let n = min(out.count, tail - head)
        out.baseAddress!.copyMemory(from: buffer + head, byteCount: n)
        head += n
        delivered += Int64(n)
        if head == tail { head = 0; tail = 0 }
        return n
    }

    /// Hands the bytes buffered next to `body` without copying them (the ingest path's fast lane);
    /// returns their count, 0 at the end. `body` must not call back into this stream.
    public func readChunk(_ body: (UnsafeRawBufferPointer) throws -> Void) throws -> Int {
        while tail == head {
            if finished { return 0 }
            try pump()
        }
        let n = tail - head
        try body(UnsafeRawBufferPointer(start: buffer + head, count: n))
        head += n
        delivered += Int64(n)
        if head == tail { head = 0; tail = 0 }
        return n
    }

    // MARK: - Driving curl

    /// Starts the transfer and drives it until the response headers are in, retrying transient failures.
    private func startWithRetries() throws {
        while true {
            do {
                try start()
                while transfer != nil && !headersSeen && !finished { try step() }
                return
            } catch let e as Retry {
                try backoff(e)
            }
        }
    }

    /// Moves the transfer forward until bytes are buffered or it ends; retries transparently.
    private func pump() throws {
        do {
            try step()
        } catch let e as Retry {
            try backoff(e)
            try startWithRetries()
        }
    }

    private struct Retry: Error { var reason: String; var retryAfter: String? }

    private func backoff(_ e: Retry) throws {
        guard attempts < client.retry.maxAttempts else {
            throw StorageError.transport(url: shownURL, reason: "\(e.reason) (after \(attempts) attempts)")
        }
        let wait = client.retry.delay(attempt: attempts, retryAfter: e.retryAfter)
        client.logger.info("GET \(shownURL): \(e.reason) at byte \(startOffset + delivered); retry \(attempts) in \(String(format: "%.1f", wait)) s")
        Thread.sleep(forTimeInterval: wait)
    }

    private func start() throws {
        detach()
        attempts += 1
        var req = request
        let from = startOffset + delivered
        if from > 0 || request.range != nil {
            req.range = (from, request.range?.upperBound)
        }
        let t = client.checkout()
        t.configure(req, stallSeconds: nil)
        t.onBody = { [unowned self] chunk in self.accept(chunk) }
        transfer = t
        paused = false
        headersSeen = false
        head = 0; tail = 0
        lastProgress = Date()
        curl_multi_add_handle(multi, t.handle)
    }

    private func detach() {
        if let t = transfer {
            curl_multi_remove_handle(multi, t.handle)
            client.checkin(t)
            transfer = nil
        }
    }

    /// Write callback: copy the chunk into the buffer, or ask curl to pause when enough is waiting.
    private func accept(_ chunk: UnsafeRawBufferPointer) -> Bool {
        if tail - head >= highWater { paused = true; return false }
        if capacity - tail < chunk.count {
            if head > 0 { (buffer).copyMemory(from: buffer + head, byteCount: tail - head); tail -= head; head = 0 }
            if capacity - tail < chunk.count {
                let bigger = UnsafeMutableRawPointer.allocate(byteCount: tail + chunk.count, alignment: 16)
                bigger.copyMemory(from: buffer, byteCount: tail)
                buffer.deallocate(); buffer = bigger; capacity = tail + chunk.count
            }
        }
        (buffer + tail).copyMemory(from: chunk.baseAddress!, byteCount: chunk.count)
        tail += chunk.count
        lastProgress = Date()
        return true
    }

    /// One round of the multi loop: unpause if drained, wait for the socket, perform, check completion.
    private func step() throws {
        guard let t = transfer, let m = multi else { finished = true; return }
        if paused && tail == head {
            paused = false
            lastProgress = Date()
            curl_easy_pause(t.handle, CURLPAUSE_CONT)
            if tail > head { return }
        }
        var running: Int32 = 0
        curl_multi_perform(m, &running)
        if tail == head && running > 0 && !paused {
            curl_multi_poll(m, nil, 0, 200, nil)
            curl_multi_perform(m, &running)
        }
        if t.status != 0 && !headersSeen { try acceptHeaders(t) }
        var left: Int32 = 0
        while let msg = curl_multi_info_read(m, &left) {
            guard msg.pointee.msg == CURLMSG_DONE else { continue }
            let code = msg.pointee.data.result
            try finish(t, code: code)
        }
        if !finished && transfer != nil && !paused && tail == head
            && Date().timeIntervalSince(lastProgress) > client.retry.stallTimeout {
            throw Retry(reason: "no data for \(Int(client.retry.stallTimeout)) s (stalled)", retryAfter: nil)
        }
    }

    private func acceptHeaders(_ t: CurlTransfer) throws {
        let status = t.status
        guard (200..<300).contains(status) else { return }  // decided when the error body is complete
        headersSeen = true
        headers = t.headers
        let from = startOffset + delivered
        if from > 0 && status != 206 {
            throw StorageError.notResumable(url: shownURL, offset: from)
        }
        if status != 206, request.range?.upperBound != nil {
            throw StorageError.badResponse(url: shownURL, reason: "the server ignored the requested byte range")
        }
        if let cr = t.headers["content-range"], let slash = cr.lastIndex(of: "/") {
            resourceSize = Int64(cr[cr.index(after: slash)...])
        }
        if let cl = t.headers["content-length"].flatMap({ Int64($0) }) {
            if status == 200 { resourceSize = cl }
            if expectedLength == nil { expectedLength = delivered + cl }
        }
    }

    private func finish(_ t: CurlTransfer, code: CURLcode) throws {
        if code != CURLE_OK {
            if request.unreachableIsFatal && RetryPolicy.isUnreachable(code) {
                throw StorageError.unreachable(endpoint: endpoint(of: request.url), reason: CurlTransfer.message(code))
            }
            // Keep what arrived before the failure, then resume after it.
            if RetryPolicy.isTransient(code) {
                if t.status != 0 && !headersSeen { try acceptHeaders(t) }
                throw Retry(reason: CurlTransfer.message(code), retryAfter: nil)
            }
            throw StorageError.transport(url: shownURL, reason: CurlTransfer.message(code))
        }
        if !headersSeen { try acceptHeaders(t) }
        let status = t.status
        if !(200..<300).contains(status) {
            if RetryPolicy.isTransient(status: status) {
                throw Retry(reason: "HTTP \(status)", retryAfter: t.headers["retry-after"])
            }
            throw HTTPResponse(status: status, headers: t.headers, body: t.errorBody).error(url: request.url)
        }
        if let expected = expectedLength, delivered + Int64(tail - head) < expected {
            throw Retry(reason: "short body", retryAfter: nil)
        }
        detach()
        finished = true
    }
}
