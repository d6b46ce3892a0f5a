// A safe subset of Python's pickle virtual machine: the opcodes `torch.save` emits for a state dict.
// Nothing is ever executed: GLOBAL/STACK_GLOBAL resolve only to a fixed allow-list, and REDUCE knows
// how to "call" exactly those (OrderedDict and the tensor rebuild function). Anything else is refused
// with an error naming the global and the byte offset.
import Foundation

public enum PickleError: Error, CustomStringConvertible {
    case forbiddenGlobal(file: String, offset: Int, name: String)
    case unsupportedOpcode(file: String, offset: Int, opcode: UInt8)
    case malformed(file: String, offset: Int, reason: String)

    public var description: String {
        switch self {
        case let .forbiddenGlobal(file, offset, name):
            return "\(file): pickle offset \(offset): refusing global \(name) (only collections.OrderedDict, torch._utils._rebuild_tensor_v2 and torch Float/Half/BFloat16 storages are allowed)"
        case let .unsupportedOpcode(file, offset, opcode):
            return "\(file): pickle offset \(offset): unsupported opcode 0x\(String(opcode, radix: 16))"
        case let .malformed(file, offset, reason):
            return "\(file): pickle offset \(offset): \(reason)"
        }
    }
}

/// Element types of the storages a checkpoint may hold.
public enum TorchStorageType: String, Sendable {
    case float32 = "FloatStorage", float16 = "HalfStorage", bfloat16 = "BFloat16Storage"
    var byteWidth: Int { self == .float32 ? 4 : 2 }
}

/// A persistent storage reference: its element type, archive key and element count.
public struct TorchStorageRef: Sendable {
    public let type: TorchStorageType
    public let key: String
    public let count: Int
}

/// A tensor view on a storage, as `_rebuild_tensor_v2` describes it.
public struct TorchTensorRef: Sendable {
    public let storage: TorchStorageRef
    public let offset: Int
    public let shape: [Int]
    public let strides: [Int]
}

/// A list or dict under construction. `depth` is its nesting depth; `frozen` is set once it sits inside another
/// container, after which APPEND/SETITEM through the memo is refused: so a stranger's pickle can build neither a
/// cycle nor a nest deeper than `PickleMachine.maxDepth` (whose recursive release would overflow the stack).
class PickleContainer { var depth = 1; var frozen = false }
final class PickleList: PickleContainer { var items: [PickleValue] = [] }
final class PickleDict: PickleContainer { var keys: [PickleValue] = []; var values: [PickleValue] = [] }

indirect enum PickleValue {
    case none, bool(Bool), int(Int), float(Double), string(String), bytes([UInt8])
    case tuple([PickleValue], depth: Int), list(PickleList), dict(PickleDict)
    case global(String), storage(TorchStorageRef), tensor(TorchTensorRef)

    /// Containers nested inside this value, itself included (0 for a scalar).
    var depth: Int {
        switch self {
        case let .tuple(_, depth): return depth
        case let .list(l): return l.depth
        case let .dict(d): return d.depth
        default: return 0
        }
    }
    var container: PickleContainer? {
        switch self {
        case let .list(l): return l
        case let .dict(d): return d
        default: return nil
        }
    }
}

struct PickleMachine {
    /// Deepest nest of tuples, lists and dicts accepted; a state dict needs 4.
    static let maxDepth = 100
    static let allowedGlobals: Set<String> = [
        "collections.OrderedDict", "torch._utils._rebuild_tensor_v2",
        "torch.FloatStorage", "torch.HalfStorage", "torch.BFloat16Storage",
    ]

    let file: String
    private var stack: [PickleValue] = []
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]

    init(file: String) { self.file = file }

    /// Runs the program and returns the value left by STOP.
    mutating func run(_ bytes: UnsafeRawBufferPointer) throws -> PickleValue {
        var pc = 0
        let n = bytes.count
        func need(_ k: Int, at offset: Int) throws {
            // k comes from the file (up to 8 bytes): compared without forming pc + k, which could overflow.
            guard k >= 0, k <= n - pc else { throw PickleError.malformed(file: file, offset: offset, reason: "truncated pickle") }
        }
        func uint(_ k: Int) -> Int { var v = 0; for i in 0..<k { v |= Int(bytes[pc + i]) << (8 * i) }; pc += k; return v }
        func text(_ k: Int, at offset: Int) throws -> String {
            try need(k, at: offset)
            let s = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[pc..<pc + k]), as: UTF8.self)
            pc += k
            return s
        }
        func line(at offset: Int) throws -> String {
            var end = pc
            while end < n && bytes[end] != 0x0A { end += 1 }
            guard end < n else { throw PickleError.malformed(file: file, offset: offset, reason: "unterminated line") }
            let s = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[pc..<end]), as: UTF8.self)
            pc = end + 1
            return s
        }
        while pc < n {
            let at = pc
            let op = bytes[pc]
            pc += 1
            switch op {
            case 0x80: try need(1, at: at); pc += 1                                   // PROTO
            case 0x95: try need(8, at: at); pc += 8                                   // FRAME
            case 0x2E: return try pop(at)                                             // STOP
            case 0x28: marks.append(stack.count)                                      // MARK
            case 0x7D: stack.append(.dict(PickleDict()))                              // EMPTY_DICT
            case 0x5D: stack.append(.list(PickleList()))                              // EMPTY_LIST
            case 0x29: stack.append(.tuple([], depth: 1))                             // EMPTY_TUPLE
            case 0x4E: stack.append(.none)                                            // NONE
            case 0x88: stack.append(.bool(true))                                      // NEWTRUE
            case 0x89: stack.append(.bool(false))                                     // NEWFALSE
            case 0x4B: try need(1, at: at); stack.append(.int(uint(1)))               // BININT1
            case 0x4D: try need(2, at: at); stack.append(.int(uint(2)))               // BININT2
            case 0x4A: try need(4, at: at); stack.append(.int(Int(Int32(truncatingIfNeeded: uint(4))))) // BININT
            case 0x8A:                                                                // LONG1
                try need(1, at: at); let k = uint(1); try need(k, at: at)
                guard k <= 8 else { throw PickleError.malformed(file: file, offset: at, reason: "integer wider than 64 bits") }
                var v = 0; for i in 0..<k { v |= Int(bytes[pc + i]) << (8 * i) }
                if k > 0 && k < 8 && bytes[pc + k - 1] & 0x80 != 0 { v -= 1 << (8 * k) }
                pc += k; stack.append(.int(v))
            case 0x47:                                                                // BINFLOAT (big-endian)
                try need(8, at: at); var bits: UInt64 = 0
                for i in 0..<8 { bits = bits << 8 | UInt64(bytes[pc + i]) }
                pc += 8; stack.append(.float(Double(bitPattern: bits)))
            case 0x58: try need(4, at: at); let k = uint(4); stack.append(.string(try text(k, at: at)))   // BINUNICODE
            case 0x8C: try need(1, at: at); let k = uint(1); stack.append(.string(try text(k, at: at)))   // SHORT_BINUNICODE
            case 0x8D: try need(8, at: at); let k = uint(8); stack.append(.string(try text(k, at: at)))   // BINUNICODE8
            case 0x54: try need(4, at: at); let k = uint(4); stack.append(.string(try text(k, at: at)))   // BINSTRING
            case 0x55: try need(1, at: at); let k = uint(1); stack.append(.string(try text(k, at: at)))   // SHORT_BINSTRING
            case 0x42, 0x43:                                                          // BINBYTES, SHORT_BINBYTES
                let width = op == 0x42 ? 4 : 1
                try need(width, at: at); let k = uint(width); try need(k, at: at)
                stack.append(.bytes(Array(UnsafeRawBufferPointer(rebasing: bytes[pc..<pc + k])))); pc += k
            case 0x71: try need(1, at: at); memo[uint(1)] = try top(at)               // BINPUT
            case 0x72: try need(4, at: at); memo[uint(4)] = try top(at)               // LONG_BINPUT
            case 0x94: memo[memo.count] = try top(at)                                 // MEMOIZE
            case 0x70: let k = try line(at: at); memo[Int(k) ?? -1] = try top(at)    // PUT
            case 0x68, 0x6A, 0x67:                                                    // BINGET, LONG_BINGET, GET
                let k: Int
                if op == 0x67 { k = Int(try line(at: at)) ?? -1 } else { let w = op == 0x68 ? 1 : 4; try need(w, at: at); k = uint(w) }
                guard let v = memo[k] else { throw PickleError.malformed(file: file, offset: at, reason: "memo key \(k) unset") }
                stack.append(v)
            case 0x74: stack.append(try tuple(try popMark(at), at))                   // TUPLE
            case 0x85: let a = try pop(at); stack.append(try tuple([a], at))          // TUPLE1
            case 0x86: let b = try pop(at), a = try pop(at); stack.append(try tuple([a, b], at))     // TUPLE2
            case 0x87: let c = try pop(at), b = try pop(at), a = try pop(at); stack.append(try tuple([a, b, c], at)) // TUPLE3
            case 0x6C: let l = PickleList(); try appendItems(.list(l), try popMark(at), at); stack.append(.list(l)) // LIST
            case 0x64: let d = PickleDict(); try setItems(d, try popMark(at), at); stack.append(.dict(d)) // DICT
            case 0x61: let v = try pop(at); try appendItems(try top(at), [v], at)     // APPEND
            case 0x65: let vs = try popMark(at); try appendItems(try top(at), vs, at) // APPENDS
            case 0x73:                                                                // SETITEM
                let v = try pop(at), k = try pop(at)
                guard case let .dict(d) = try top(at) else { throw PickleError.malformed(file: file, offset: at, reason: "SETITEM on a non-dict") }
                try setItems(d, [k, v], at)
            case 0x75:                                                                // SETITEMS
                let kvs = try popMark(at)
                guard case let .dict(d) = try top(at) else { throw PickleError.malformed(file: file, offset: at, reason: "SETITEMS on a non-dict") }
                try setItems(d, kvs, at)
            case 0x30: _ = try pop(at)                                                // POP
            case 0x31: _ = try popMark(at)                                            // POP_MARK
            case 0x32: stack.append(try top(at))                                      // DUP
            case 0x63:                                                                // GLOBAL "module\nname\n"
                let module = try line(at: at), name = try line(at: at)
                stack.append(try global(module, name, at))
            case 0x93:                                                                // STACK_GLOBAL
                let name = try pop(at), module = try pop(at)
                guard case let .string(m) = module, case let .string(q) = name else {
                    throw PickleError.malformed(file: file, offset: at, reason: "STACK_GLOBAL needs two strings")
                }
                stack.append(try global(m, q, at))
            case 0x51:                                                                // BINPERSID
                stack.append(try persistentLoad(try pop(at), at))
            case 0x52:                                                                // REDUCE
                let args = try pop(at), callable = try pop(at)
                stack.append(try reduce(callable, args, at))
            case 0x62:                                                                // BUILD: state of an OrderedDict/tensor is metadata only
                _ = try pop(at)
                _ = try top(at)
            default:
                throw PickleError.unsupportedOpcode(file: file, offset: at, opcode: op)
            }
        }
        throw PickleError.malformed(file: file, offset: n, reason: "pickle ends without STOP (truncated?)")
    }

    private func top(_ at: Int) throws -> PickleValue {
        guard let v = stack.last else { throw PickleError.malformed(file: file, offset: at, reason: "stack underflow") }
        return v
    }
    private mutating func pop(_ at: Int) throws -> PickleValue {
        guard marks.last.map({ stack.count > $0 }) ?? true, let v = stack.popLast() else {
            throw PickleError.malformed(file: file, offset: at, reason: "stack underflow")
        }
        return v
    }
    private mutating func popMark(_ at: Int) throws -> [PickleValue] {
        guard let m = marks.popLast() else { throw PickleError.malformed(file: file, offset: at, reason: "no MARK") }
        let items = Array(stack[m...])
        stack.removeSubrange(m...)
        return items
    }
    /// The depth of a container holding `items`, checked against `maxDepth`; lists and dicts among them are frozen.
    private func nest(_ items: [PickleValue], into parent: PickleContainer?, _ at: Int) throws -> Int {
        var depth = parent?.depth ?? 1
        for item in items {
            if let child = item.container {
                guard child !== parent else { throw PickleError.malformed(file: file, offset: at, reason: "a container inside itself") }
                child.frozen = true
            }
            depth = max(depth, item.depth + 1)
        }
        guard depth <= PickleMachine.maxDepth else {
            throw PickleError.malformed(file: file, offset: at, reason: "containers nested deeper than \(PickleMachine.maxDepth)")
        }
        return depth
    }
    private func tuple(_ items: [PickleValue], _ at: Int) throws -> PickleValue {
        .tuple(items, depth: try nest(items, into: nil, at))
    }
    private func appendItems(_ target: PickleValue, _ items: [PickleValue], _ at: Int) throws {
        guard case let .list(l) = target else { throw PickleError.malformed(file: file, offset: at, reason: "APPEND on a non-list") }
        guard !l.frozen else { throw PickleError.malformed(file: file, offset: at, reason: "APPEND to a list already inside another container") }
        l.depth = try nest(items, into: l, at)
        l.items += items
    }
    private func setItems(_ d: PickleDict, _ kvs: [PickleValue], _ at: Int) throws {
        guard kvs.count % 2 == 0 else { throw PickleError.malformed(file: file, offset: at, reason: "odd number of dict items") }
        guard !d.frozen else { throw PickleError.malformed(file: file, offset: at, reason: "SETITEM on a dict already inside another container") }
        d.depth = try nest(kvs, into: d, at)
        for i in stride(from: 0, to: kvs.count, by: 2) { d.keys.append(kvs[i]); d.values.append(kvs[i + 1]) }
    }

    private func global(_ module: String, _ name: String, _ at: Int) throws -> PickleValue {
        let full = "\(module).\(name)"
        guard PickleMachine.allowedGlobals.contains(full) else {
            throw PickleError.forbiddenGlobal(file: file, offset: at, name: full)
        }
        return .global(full)
    }

    /// torch's persistent id: ('storage', StorageType, key, location, numel).
    private func persistentLoad(_ pid: PickleValue, _ at: Int) throws -> PickleValue {
        guard case let .tuple(t, _) = pid, t.count >= 5, case .string("storage") = t[0],
              case let .global(typeName) = t[1], case let .string(key) = t[2], case let .int(count) = t[4],
              let type = TorchStorageType(rawValue: String(typeName.dropFirst("torch.".count))) else {
            throw PickleError.malformed(file: file, offset: at, reason: "persistent id is not a torch storage tuple")
        }
        return .storage(TorchStorageRef(type: type, key: key, count: count))
    }

    private func reduce(_ callable: PickleValue, _ args: PickleValue, _ at: Int) throws -> PickleValue {
        guard case let .global(name) = callable, case let .tuple(a, _) = args else {
            throw PickleError.malformed(file: file, offset: at, reason: "REDUCE of a non-global")
        }
        switch name {
        case "collections.OrderedDict":
            return .dict(PickleDict())
        case "torch._utils._rebuild_tensor_v2":
            guard a.count >= 4, case let .storage(storage) = a[0], case let .int(offset) = a[1],
                  let shape = ints(a[2]), let strides = ints(a[3]), shape.count == strides.count else {
                throw PickleError.malformed(file: file, offset: at, reason: "bad _rebuild_tensor_v2 arguments")
            }
            return .tensor(TorchTensorRef(storage: storage, offset: offset, shape: shape, strides: strides))
        default:
            throw PickleError.forbiddenGlobal(file: file, offset: at, name: "\(name) (as a callable)")
        }
    }

    private func ints(_ v: PickleValue) -> [Int]? {
        guard case let .tuple(items, _) = v else { return nil }
        var out: [Int] = []
        for item in items { guard case let .int(i) = item else { return nil }; out.append(i) }
        return out
    }
}
