// A decoded weight tensor: its shape and float32 values (row-major), whatever dtype it was stored in.

public struct TensorData: Equatable, Sendable {
    public var shape: [Int]
    public var values: [Float]

    public init(shape: [Int], values: [Float]) {
        precondition(shape.reduce(1, *) == values.count, "TensorData: \(values.count) values for shape \(shape)")
        self.shape = shape
        self.values = values
    }

    public var count: Int { values.count }
}
