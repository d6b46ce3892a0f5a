import CMPI
import Foundation

/// An MPI call that returned an error code (MPI_COMM_WORLD returns errors instead of aborting; see
/// `MPICollective.world()`), as one line: `MPI_Allreduce failed on rank 1 of 2: MPI_ERR_COUNT: invalid count argument`.
public struct MPIError: Error, CustomStringConvertible, Sendable {
    /// The MPI function, e.g. "MPI_Allreduce".
    public let call: String
    /// MPI's error code (MPI_SUCCESS is never one).
    public let code: Int32
    /// MPI's own text for `code`.
    public let reason: String
    public let rank: Int?
    public let size: Int?

    init(call: String, code: Int32, rank: Int?, size: Int?) {
        self.call = call; self.code = code; self.rank = rank; self.size = size
        reason = MPIError.text(of: code)
    }

    /// A problem this layer finds before calling MPI (sizes MPI's 32-bit counts cannot hold, wrong rank counts).
    init(call: String, reason: String, rank: Int?, size: Int?) {
        self.call = call; code = -1; self.reason = reason; self.rank = rank; self.size = size
    }

    public var description: String {
        let whereText = rank.map { r in " on rank \(r)" + (size.map { " of \($0)" } ?? "") } ?? ""
        return "\(call) failed\(whereText): \(reason)"
    }

    /// MPI_Error_string's text, on one line.
    static func text(of code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: Int(lodestone_mpi_max_error_string()) + 1)
        var length: Int32 = 0
        guard MPI_Error_string(code, &buffer, &length) == MPI_SUCCESS else { return "MPI error code \(code)" }
        let text = String(cString: buffer).split(whereSeparator: \.isNewline).joined(separator: " ")
        return text.isEmpty ? "MPI error code \(code)" : text
    }
}
