import CCurl
import Foundation
import Logging

/// One HTTP request. `range` asks for bytes `lower..<upper` (open-ended when `upper` is nil).
public struct HTTPRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: [String]
    public var body: Data?
    public var range: (lowerBound: Int64, upperBound: Int64?)?
    var signing: SigV4Credentials?
    /// A refused connection or an unresolvable host ends the request at once with `StorageError.unreachable`
    /// instead of being retried (set for store requests: a dead endpoint stays dead).
    var unreachableIsFatal = false

    public init(method: String = "GET", url: String, headers: [String] = [], body: Data? = nil) {
        self.method = method; self.url = url; self.headers = headers; self.body = body
    }
}

/// What libcurl's built-in Signature V4 needs. Kept out of every description and log line.
struct SigV4Credentials: Sendable {
    var accessKey: String
    var secretKey: String
    var region: String
    var sigv4: String { "aws:amz:\(region):s3" }
}

public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [String: String]
    public var body: Data
}

/// URL as shown in logs and errors: user:password and query strings (signed URLs, tokens) removed.
public func redactedURL(_ url: String) -> String {
    guard var c = URLComponents(string: url) else { return url.split(separator: "?").first.map(String.init) ?? url }
    c.user = nil; c.password = nil
    if c.query != nil { c.query = nil }
    return c.string ?? url
}

/// `scheme://host:port` of a URL: what a connection error is about.
func endpoint(of url: String) -> String {
    guard let c = URLComponents(string: url), let scheme = c.scheme, let host = c.host else { return redactedURL(url) }
    return "\(scheme)://\(host)" + (c.port.map { ":\($0)" } ?? "")
}

/// HTTP on libcurl: small requests with retries (`send`) and streaming bodies (`openStream`).
/// Handles are pooled so connections are reused across requests.
public final class HTTPClient: @unchecked Sendable {
    public var retry: RetryPolicy
    let logger: Logger
    private var pool: [CurlTransfer] = []
    private let lock = NSLock()

    public init(retry: RetryPolicy = RetryPolicy(), logger: Logger = Logger(label: "lodestone.http")) {
        self.retry = retry; self.logger = logger
    }

    func checkout() -> CurlTransfer {
        lock.lock(); defer { lock.unlock() }
        return pool.popLast() ?? CurlTransfer()
    }

    func checkin(_ t: CurlTransfer) {
        t.onBody = nil
        lock.lock(); defer { lock.unlock() }
        if pool.count < 16 { pool.append(t) }
    }

    /// Sends a request whose response body fits in memory, retrying transient failures.
    /// Returns the final response whatever its status (the caller decides what a 404 means).
    public func send(_ request: HTTPRequest) throws -> HTTPResponse {
        let shown = redactedURL(request.url)
        var attempt = 0
        while true {
            attempt += 1
            let t = checkout()
            defer { checkin(t) }
            var body = Data()
            t.configure(request, stallSeconds: Int(retry.stallTimeout))
            t.onBody = { chunk in body.append(contentsOf: chunk); return true }
            let code = t.perform()
            if code == CURLE_OK && !RetryPolicy.isTransient(status: t.status) {
                return HTTPResponse(status: t.status, headers: t.headers, body: t.isSuccess ? body : t.errorBody)
            }
            if request.unreachableIsFatal && RetryPolicy.isUnreachable(code) {
                throw StorageError.unreachable(endpoint: endpoint(of: request.url), reason: CurlTransfer.message(code))
            }
            let transient = code == CURLE_OK || RetryPolicy.isTransient(code)
            let reason = code == CURLE_OK ? "HTTP \(t.status)" : CurlTransfer.message(code)
            guard transient, attempt < retry.maxAttempts else {
                if code == CURLE_OK {
                    return HTTPResponse(status: t.status, headers: t.headers, body: t.errorBody)
                }
                throw StorageError.transport(url: shown, reason: "\(reason) (after \(attempt) attempts)")
            }
            let wait = retry.delay(attempt: attempt, retryAfter: t.headers["retry-after"])
            logger.info("\(request.method) \(shown): \(reason); retry \(attempt) in \(String(format: "%.1f", wait)) s")
            Thread.sleep(forTimeInterval: wait)
        }
    }

    /// Opens a streaming GET; see `HTTPStream`.
    public func openStream(_ request: HTTPRequest) throws -> HTTPStream {
        try HTTPStream(client: self, request: request)
    }
}

extension HTTPResponse {
    /// A short, credential-free error for a non-2xx response: status plus S3's <Code>/<Message> when present.
    func error(url: String) -> StorageError {
        let text = String(decoding: body.prefix(2048), as: UTF8.self)
        var message = ""
        if let code = XMLScan.first("Code", in: text) {
            message = code + (XMLScan.first("Message", in: text).map { ": " + $0 } ?? "")
        } else {
            message = text.split(separator: "\n").first.map { String($0.prefix(200)) } ?? ""
        }
        return .http(url: redactedURL(url), status: status, message: message)
    }
}
