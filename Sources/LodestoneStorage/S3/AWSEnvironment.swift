import Foundation

/// Credentials and region from the standard AWS environment. `description` never shows the secret.
public struct AWSEnvironment: Sendable, CustomStringConvertible {
    public var accessKeyID: String
    public var secretAccessKey: String
    public var sessionToken: String?
    public var region: String
    public var endpointURL: String?

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil,
                region: String = "us-east-1", endpointURL: String? = nil) {
        self.accessKeyID = accessKeyID; self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken; self.region = region; self.endpointURL = endpointURL
    }

    /// Reads AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION / AWS_DEFAULT_REGION,
    /// AWS_ENDPOINT_URL (AWS_ENDPOINT_URL_S3 wins when set).
    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) throws -> AWSEnvironment {
        let missing = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"].filter { env[$0]?.isEmpty ?? true }
        guard missing.isEmpty, let key = env["AWS_ACCESS_KEY_ID"], let secret = env["AWS_SECRET_ACCESS_KEY"] else {
            throw StorageError.missingCredentials(missing)
        }
        let region = env["AWS_REGION"].flatMap { $0.isEmpty ? nil : $0 } ?? env["AWS_DEFAULT_REGION"].flatMap { $0.isEmpty ? nil : $0 } ?? "us-east-1"
        let endpoint = [env["AWS_ENDPOINT_URL_S3"], env["AWS_ENDPOINT_URL"]].compactMap { $0 }.first { !$0.isEmpty }
        return AWSEnvironment(accessKeyID: key, secretAccessKey: secret, sessionToken: env["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 },
                              region: region, endpointURL: endpoint)
    }

    public var description: String { "AWS credentials \(accessKeyID.prefix(4))… region \(region)" }
}
