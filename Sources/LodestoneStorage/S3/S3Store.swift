import Foundation
import LodestoneBase
import Logging

/// An object store in an S3 bucket under a key prefix, spoken over libcurl with Signature V4.
/// AWS endpoints use virtual-hosted addressing; custom endpoints (MinIO, moto, …) use path style.
/// Uploads are multipart whenever the body outgrows one part, so memory stays at one part per writer.
public final class S3Store: ObjectStore, @unchecked Sendable {
    public let bucket: String
    /// Key prefix inside the bucket, empty or ending in "/".
    public let prefix: String
    let baseURL: String
    let credentials: SigV4Credentials
    let sessionToken: String?
    let http: HTTPClient
    /// Part size for uploads of unknown length; grows as parts accumulate so 10,000 parts reach terabytes.
    public var minimumPartSize = 8 << 20
    private let unreachable = Latch<StorageError>()

    public init(bucket: String, prefix: String = "", environment: AWSEnvironment, http: HTTPClient = HTTPClient()) throws {
        guard !bucket.isEmpty, !bucket.contains("/") else { throw StorageError.badURL("s3://\(bucket)", reason: "bad bucket name") }
        self.bucket = bucket
        let p = prefix.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        self.prefix = p.isEmpty ? "" : p + "/"
        if let endpoint = environment.endpointURL {
            var e = endpoint
            while e.hasSuffix("/") { e.removeLast() }
            guard e.hasPrefix("http://") || e.hasPrefix("https://") else {
                throw StorageError.badURL(endpoint, reason: "the endpoint URL must start with http:// or https://")
            }
            baseURL = e + "/" + S3Store.encode(bucket)
        } else {
            baseURL = "https://\(bucket).s3.\(environment.region).amazonaws.com"
        }
        credentials = SigV4Credentials(accessKey: environment.accessKeyID, secretKey: environment.secretAccessKey, region: environment.region)
        sessionToken = environment.sessionToken
        self.http = http
    }

    public var description: String { "s3://\(bucket)/\(prefix)" }

    // MARK: Requests

    /// Percent-encodes as SigV4 canonicalization expects: unreserved characters stay, '/' optionally.
    static func encode(_ s: String, keepSlash: Bool = false) -> String {
        var out = ""
        for b in s.utf8 {
            let c = Character(Unicode.Scalar(b))
            if (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) || "-._~".contains(c) || (keepSlash && b == 0x2F) {
                out.append(c)
            } else {
                out += String(format: "%%%02X", b)
            }
        }
        return out
    }

    func fullKey(_ key: String) throws -> String {
        guard !key.isEmpty, !key.hasPrefix("/") else { throw StorageError.badKey(key, reason: "object key must be relative and non-empty") }
        return prefix + key
    }

    /// Query parameters sorted by name, as the canonical request needs them.
    func url(objectKey: String?, query: [(String, String)] = []) -> String {
        var u = baseURL + "/" + (objectKey.map { S3Store.encode($0, keepSlash: true) } ?? "")
        if !query.isEmpty {
            u += "?" + query.sorted { $0.0 < $1.0 }.map { "\(S3Store.encode($0.0))=\(S3Store.encode($0.1))" }.joined(separator: "&")
        }
        return u
    }

    func request(_ method: String, _ url: String, body: Data? = nil, headers: [String] = []) -> HTTPRequest {
        var r = HTTPRequest(method: method, url: url, headers: headers, body: body)
        r.headers.append("x-amz-content-sha256: UNSIGNED-PAYLOAD")
        if let token = sessionToken { r.headers.append("x-amz-security-token: \(token)") }
        r.signing = credentials
        r.unreachableIsFatal = true
        return r
    }

    /// Sends `r`, whatever the status. Once the endpoint has proven unreachable every later request fails at
    /// once with the same error, so a step with many objects stops in a moment instead of retrying each.
    func perform<T>(_ r: HTTPRequest, _ body: (HTTPRequest) throws -> T) throws -> T {
        if let dead = unreachable.value { throw dead }
        do {
            return try body(r)
        } catch let e as StorageError {
            if case .unreachable = e { unreachable.set(e) }
            throw e
        }
    }

    func send(_ method: String, _ url: String, body: Data? = nil, headers: [String] = []) throws -> HTTPResponse {
        let response = try perform(request(method, url, body: body, headers: headers), http.send)
        guard (200..<300).contains(response.status) else { throw response.error(url: url) }
        return response
    }

    // MARK: ObjectStore

    public func list(prefix keyPrefix: String) throws -> [ObjectInfo] {
        var result: [ObjectInfo] = []
        var token: String?
        repeat {
            var query = [("list-type", "2")]
            if !(prefix + keyPrefix).isEmpty { query.append(("prefix", prefix + keyPrefix)) }
            if let t = token { query.append(("continuation-token", t)) }
            let u = url(objectKey: nil, query: query)
            let text = String(decoding: try send("GET", u).body, as: UTF8.self)
            for entry in XMLScan.all("Contents", in: text) {
                guard let key = XMLScan.first("Key", in: entry), let size = XMLScan.first("Size", in: entry).flatMap({ Int64($0) }) else {
                    throw StorageError.badResponse(url: redactedURL(u), reason: "listing entry without Key/Size")
                }
                guard key.hasPrefix(prefix) else { continue }
                let etag = XMLScan.first("ETag", in: entry)?.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
                result.append(ObjectInfo(key: String(key.dropFirst(prefix.count)), size: size, etag: etag))
            }
            token = XMLScan.first("IsTruncated", in: text) == "true" ? XMLScan.first("NextContinuationToken", in: text) : nil
        } while token != nil
        return result.sorted { $0.key < $1.key }
    }

    public func head(key: String) throws -> ObjectInfo? {
        let u = url(objectKey: try fullKey(key))
        let response = try perform(request("HEAD", u), http.send)
        if response.status == 404 { return nil }
        guard (200..<300).contains(response.status) else { throw response.error(url: u) }
        guard let size = response.headers["content-length"].flatMap({ Int64($0) }) else {
            throw StorageError.badResponse(url: redactedURL(u), reason: "HEAD without Content-Length")
        }
        return ObjectInfo(key: key, size: size, etag: response.headers["etag"]?.trimmingCharacters(in: CharacterSet(charactersIn: "\"")))
    }

    public func openReader(key: String, range: Range<Int64>?) throws -> ByteReader {
        let u = url(objectKey: try fullKey(key))
        var r = request("GET", u)
        if let range {
            if range.isEmpty { return EmptyReader() }
            r.range = (range.lowerBound, range.upperBound)
        }
        do {
            return try perform(r, http.openStream)
        } catch StorageError.http(_, 404, _) {
            throw StorageError.notFound(store: description, key: key)
        }
    }

    public func write(key: String, expectedSize: Int64?, body: (ByteWriter) throws -> Void) throws {
        let writer = S3MultipartWriter(store: self, key: try fullKey(key), expectedSize: expectedSize)
        do {
            try body(writer)
            try writer.commit()
        } catch {
            writer.abort()
            throw error
        }
    }

    public func delete(key: String) throws {
        let u = url(objectKey: try fullKey(key))
        let response = try perform(request("DELETE", u), http.send)
        guard (200..<300).contains(response.status) || response.status == 404 else { throw response.error(url: u) }
    }
}

final class EmptyReader: ByteReader {
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int { 0 }
    func close() {}
}
