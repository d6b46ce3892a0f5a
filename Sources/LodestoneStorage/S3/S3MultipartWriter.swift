import Foundation

/// Collects a stream into parts. A body that fits in the first part becomes one PUT; a longer one becomes a
/// multipart upload, which S3 shows under the key only when completed (and aborts on failure).
final class S3MultipartWriter: ByteWriter {
    let store: S3Store
    let key: String
    private var part = Data()
    private var partSize: Int
    private var uploadID: String?
    private var etags: [String] = []
    private var total: Int64 = 0

    init(store: S3Store, key: String, expectedSize: Int64?) {
        self.store = store; self.key = key
        // S3 allows 10,000 parts; leave headroom for a size hint that is a little low.
        let hinted = expectedSize.map { Int(($0 + 8999) / 9000) } ?? 0
        partSize = max(store.minimumPartSize, hinted)
        part.reserveCapacity(partSize)
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let n = min(bytes.count - offset, partSize - part.count)
            part.append(bytes.baseAddress!.assumingMemoryBound(to: UInt8.self) + offset, count: n)
            offset += n
            if part.count == partSize { try flushPart() }
        }
        total += Int64(bytes.count)
    }

    private func flushPart() throws {
        if uploadID == nil {
            let u = store.url(objectKey: key, query: [("uploads", "")])
            let text = String(decoding: try store.send("POST", u, body: Data()).body, as: UTF8.self)
            guard let id = XMLScan.first("UploadId", in: text) else {
                throw StorageError.badResponse(url: redactedURL(u), reason: "no UploadId")
            }
            uploadID = id
        }
        let number = etags.count + 1
        let u = store.url(objectKey: key, query: [("partNumber", String(number)), ("uploadId", uploadID!)])
        let response = try store.send("PUT", u, body: part)
        guard let etag = response.headers["etag"] else { throw StorageError.badResponse(url: redactedURL(u), reason: "part without ETag") }
        etags.append(etag)
        part.removeAll(keepingCapacity: true)
        // Grow parts every 1,000 so a stream of unknown length still fits in 10,000 parts (up to ~500 GB with
        // 8 MiB first parts); capped at 64 MiB to keep memory bounded. Give a size hint for larger objects.
        if etags.count % 1000 == 0 { partSize = min(partSize * 2, max(partSize, 64 << 20)) }
    }

    func commit() throws {
        guard let id = uploadID else {
            _ = try store.send("PUT", store.url(objectKey: key), body: part)
            return
        }
        if !part.isEmpty || etags.isEmpty { try flushPart() }
        var xml = "<CompleteMultipartUpload>"
        for (i, etag) in etags.enumerated() {
            xml += "<Part><PartNumber>\(i + 1)</PartNumber><ETag>\(XMLScan.escape(etag))</ETag></Part>"
        }
        xml += "</CompleteMultipartUpload>"
        let u = store.url(objectKey: key, query: [("uploadId", id)])
        let response = try store.send("POST", u, body: Data(xml.utf8))
        // S3 may answer 200 with an error document for CompleteMultipartUpload.
        let text = String(decoding: response.body, as: UTF8.self)
        if text.contains("<Error>") { throw HTTPResponse(status: 500, headers: [:], body: response.body).error(url: u) }
        uploadID = nil
    }

    func abort() {
        guard let id = uploadID else { return }
        _ = try? store.send("DELETE", store.url(objectKey: key, query: [("uploadId", id)]))
        uploadID = nil
    }
}
