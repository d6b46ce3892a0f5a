import CCurl
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One libcurl easy handle plus the state its callbacks fill: response status, headers and the
/// body destination. Callbacks reach this object through the userdata pointer, so it must stay alive
/// (and at a stable address) while curl uses the handle.
final class CurlTransfer {
    let handle: UnsafeMutableRawPointer
    private var headerList: UnsafeMutablePointer<curl_slist>?
    /// Status and headers of the final response (redirect responses are discarded as they arrive).
    private(set) var status = 0
    private(set) var headers: [String: String] = [:]
    /// Called with each body chunk of a successful (2xx) response; returns false to pause the transfer.
    var onBody: ((UnsafeRawBufferPointer) -> Bool)?
    /// Bodies of error responses are kept (bounded) for the error message.
    private(set) var errorBody = Data()
    /// Upload source for PUT/POST bodies.
    private var upload: Data?
    private var uploadOffset = 0
    private(set) var bytesReceived: Int64 = 0

    /// libcurl's global setup, once. SIGPIPE is ignored because with CURLOPT_NOSIGNAL (needed in threads)
    /// a write to a connection the peer closed would otherwise kill the process instead of failing the transfer.
    static let globalInit: Void = {
        signal(SIGPIPE, SIG_IGN)
        curl_global_init(Int(CURL_GLOBAL_DEFAULT))
    }()

    init() {
        _ = Self.globalInit
        guard let h = curl_easy_init() else { fatalError("curl_easy_init failed: out of memory") }
        handle = h
    }

    deinit {
        curl_easy_cleanup(handle)
        if let list = headerList { curl_slist_free_all(list) }
    }

    /// Configures the handle for one request. `stallSeconds` applies to blocking `perform` only;
    /// pull-style streams watch stalls themselves (a paused transfer is not stalled).
    func configure(_ request: HTTPRequest, stallSeconds: Int?, connectTimeout: Int = 30) {
        curl_easy_reset(handle)
        status = 0; headers = [:]; errorBody = Data(); bytesReceived = 0
        upload = request.body; uploadOffset = 0
        if let list = headerList { curl_slist_free_all(list); headerList = nil }

        let me = Unmanaged.passUnretained(self).toOpaque()
        lodestone_curl_setopt_ptr(handle, CURLOPT_URL, request.url)
        lodestone_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1)
        lodestone_curl_setopt_long(handle, CURLOPT_FOLLOWLOCATION, 1)
        lodestone_curl_setopt_long(handle, CURLOPT_MAXREDIRS, 10)
        lodestone_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT, connectTimeout)
        lodestone_curl_setopt_long(handle, CURLOPT_BUFFERSIZE, 512 * 1024)
        lodestone_curl_setopt_long(handle, CURLOPT_TCP_KEEPALIVE, 1)
        lodestone_curl_setopt_ptr(handle, CURLOPT_USERAGENT, "lodestone-swift/1.0")
        if let stall = stallSeconds {
            lodestone_curl_setopt_long(handle, CURLOPT_LOW_SPEED_LIMIT, 1)
            lodestone_curl_setopt_long(handle, CURLOPT_LOW_SPEED_TIME, stall)
        }
        lodestone_curl_setopt_ptr(handle, CURLOPT_WRITEDATA, me)
        lodestone_curl_setopt_write(handle) { ptr, size, count, user in
            let me = Unmanaged<CurlTransfer>.fromOpaque(user!).takeUnretainedValue()
            return me.received(UnsafeRawBufferPointer(start: ptr, count: size * count))
        }
        lodestone_curl_setopt_ptr(handle, CURLOPT_HEADERDATA, me)
        lodestone_curl_setopt_header(handle) { ptr, size, count, user in
            let me = Unmanaged<CurlTransfer>.fromOpaque(user!).takeUnretainedValue()
            me.headerLine(UnsafeRawBufferPointer(start: ptr, count: size * count))
            return size * count
        }

        switch request.method {
        case "GET": break
        case "HEAD": lodestone_curl_setopt_long(handle, CURLOPT_NOBODY, 1)
        default:
            if let body = request.body {
                lodestone_curl_setopt_long(handle, CURLOPT_UPLOAD, 1)
                lodestone_curl_setopt_off(handle, CURLOPT_INFILESIZE_LARGE, curl_off_t(body.count))
                lodestone_curl_setopt_ptr(handle, CURLOPT_READDATA, me)
                lodestone_curl_setopt_read(handle) { ptr, size, count, user in
                    let me = Unmanaged<CurlTransfer>.fromOpaque(user!).takeUnretainedValue()
                    return me.sendChunk(ptr!, size * count)
                }
            }
            if request.method != "PUT" || request.body == nil {
                lodestone_curl_setopt_ptr(handle, CURLOPT_CUSTOMREQUEST, request.method)
            }
        }
        var all = request.headers
        // No 100-continue round trip. Signed requests cannot carry the header-removal entry (curl would sign
        // a header it never sends), so for them the wait is cut to a millisecond instead.
        if request.signing == nil { all.append("Expect:") } else { lodestone_curl_setopt_long(handle, CURLOPT_EXPECT_100_TIMEOUT_MS, 1) }
        if let r = request.range { all.append("Range: bytes=\(r.lowerBound)-\(r.upperBound.map { String($0 - 1) } ?? "")") }
        for h in all { headerList = curl_slist_append(headerList, h) }
        lodestone_curl_setopt_ptr(handle, CURLOPT_HTTPHEADER, headerList)
        if let sign = request.signing {
            lodestone_curl_setopt_ptr(handle, CURLOPT_AWS_SIGV4, sign.sigv4)
            lodestone_curl_setopt_ptr(handle, CURLOPT_USERNAME, sign.accessKey)
            lodestone_curl_setopt_ptr(handle, CURLOPT_PASSWORD, sign.secretKey)
        }
    }

    /// Runs the request to completion (blocking). Returns the curl result code.
    func perform() -> CURLcode { curl_easy_perform(handle) }

    var isSuccess: Bool { (200..<300).contains(status) }

    private func received(_ chunk: UnsafeRawBufferPointer) -> Int {
        if status == 0 { status = responseCode() }
        guard isSuccess else {
            if errorBody.count < 64 * 1024 { errorBody.append(contentsOf: chunk.prefix(64 * 1024 - errorBody.count)) }
            return chunk.count
        }
        if let onBody, !onBody(chunk) { return Int(CURL_WRITEFUNC_PAUSE) }
        bytesReceived += Int64(chunk.count)
        return chunk.count
    }

    private func headerLine(_ raw: UnsafeRawBufferPointer) {
        let line = String(decoding: raw, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if line.hasPrefix("HTTP/") {
            headers = [:]; errorBody = Data()
            let parts = line.split(separator: " ")
            status = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
        } else if let colon = line.firstIndex(of: ":") {
            let name = line[..<colon].lowercased()
            headers[name] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
    }

    private func sendChunk(_ ptr: UnsafeMutablePointer<CChar>, _ max: Int) -> Int {
        guard let body = upload else { return 0 }
        let n = min(max, body.count - uploadOffset)
        if n > 0 {
            body.withUnsafeBytes { src in
                UnsafeMutableRawPointer(ptr).copyMemory(from: src.baseAddress! + uploadOffset, byteCount: n)
            }
            uploadOffset += n
        }
        return n
    }

    func responseCode() -> Int {
        var code = 0
        lodestone_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &code)
        return code
    }

    static func message(_ code: CURLcode) -> String { String(cString: curl_easy_strerror(code)) }
}
