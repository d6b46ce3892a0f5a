import CCurl
import Foundation

/// When and how long to retry: connection errors, timeouts, stalls, HTTP 5xx and 429 are transient;
/// the delay doubles from `baseDelay` up to `maxDelay`, and a server's Retry-After wins when given.
public struct RetryPolicy: Sendable {
    public var maxAttempts: Int
    public var baseDelay: Double
    public var maxDelay: Double
    /// A transfer that delivers no byte for this long is aborted and retried.
    public var stallTimeout: Double

    public init(maxAttempts: Int = 6, baseDelay: Double = 1, maxDelay: Double = 60, stallTimeout: Double = 60) {
        self.maxAttempts = maxAttempts; self.baseDelay = baseDelay; self.maxDelay = maxDelay; self.stallTimeout = stallTimeout
    }

    func delay(attempt: Int, retryAfter: String?) -> Double {
        if let s = retryAfter?.trimmingCharacters(in: .whitespaces), let secs = Double(s) { return min(max(secs, 0), 600) }
        let exp = baseDelay * pow(2, Double(max(0, attempt - 1)))
        return min(maxDelay, exp) * Double.random(in: 0.8...1.0)
    }

    static func isTransient(status: Int) -> Bool { status == 429 || status == 408 || (500..<600).contains(status) }

    /// Nobody answers at that address: retrying the next object will not help.
    static func isUnreachable(_ code: CURLcode) -> Bool {
        code == CURLE_COULDNT_CONNECT || code == CURLE_COULDNT_RESOLVE_HOST || code == CURLE_COULDNT_RESOLVE_PROXY
    }

    static func isTransient(_ code: CURLcode) -> Bool {
        switch code {
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_OPERATION_TIMEDOUT, CURLE_PARTIAL_FILE,
             CURLE_RECV_ERROR, CURLE_SEND_ERROR, CURLE_GOT_NOTHING, CURLE_HTTP2, CURLE_HTTP2_STREAM,
             CURLE_SSL_CONNECT_ERROR, CURLE_ABORTED_BY_CALLBACK:
            return true
        default: return false
        }
    }
}
