// ImportValue: what an ONNX value is during import — an IR value, an import-time constant, or a shape-only input.

import IR

/// What an ONNX value name stands for while a model is imported.
enum ImportValue {
    /// A value of the IR graph being built (runtime input, node output or materialized constant).
    case ir(String)
    /// Known at import time: initializers, Constant outputs, bound inputs and what folds from them.
    case constant(ConstTensor)
    /// A non-float graph input that is not bound to a constant: only its declared type is known,
    /// so shape arithmetic (Shape, Size) may read it but nothing may read its data.
    case shapeOnly(name: String, dims: [Dim], dataType: ONNXDataType)
}

/// A reason an import step failed, without the file and node (the driver adds them).
struct ImportFailure: Error, CustomStringConvertible {
    var message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}

/// An element of an import-time constant whose value is not known because it derives from a
/// symbolic dimension: `Shape` of a value with a symbolic batch yields one.
enum SymbolicElement: Hashable {
    /// Equal to the symbolic dimension of this name (at least 1 at run time).
    case dim(String)
    /// Depends on a symbolic dimension in a way the importer does not track.
    case unknown
}

/// A tensor known at import time, with ONNX's element type kept so integer shape arithmetic
/// (int64) and float weights fold with their own semantics. Elements listed in `symbols` are
/// placeholders (stored as 0) whose real value depends on a symbolic dimension.
struct ConstTensor {
    enum Storage {
        case floats([Float])
        case ints([Int64])
    }

    /// The most elements a folded or decoded constant may hold (guards Range, ConstantOfShape,
    /// Expand and malformed dims against exhausting memory).
    static let maxElements = 1 << 28

    var shape: [Int]
    var dataType: ONNXDataType
    var storage: Storage
    /// Flat index → symbolic element; empty when every element is known.
    var symbols: [Int: SymbolicElement] = [:]

    init(shape: [Int], dataType: ONNXDataType, storage: Storage, symbols: [Int: SymbolicElement] = [:]) {
        self.shape = shape
        self.dataType = dataType
        self.storage = storage
        self.symbols = symbols
    }

    /// An int64 tensor.
    init(int64s: [Int64], shape: [Int]? = nil) {
        self.init(shape: shape ?? [int64s.count], dataType: .int64, storage: .ints(int64s))
    }

    /// A float32 tensor.
    init(floats: [Float], shape: [Int]? = nil) {
        self.init(shape: shape ?? [floats.count], dataType: .float, storage: .floats(floats))
    }

    /// A decoded ONNX tensor, checked for consistent dims and data.
    init(_ t: ONNXTensor) throws {
        let count = try Self.checkedCount(t.dims, what: "tensor '\(t.name)'")
        switch t.dataType {
        case .string, .other: throw ImportFailure("tensor '\(t.name)' has \(t.dataType) data, which s2dc does not support")
        default: break
        }
        switch t.data {
        case .floats(let f):
            guard t.dataType.isFloatingPoint else { throw ImportFailure("tensor '\(t.name)' of type \(t.dataType) holds float data") }
            guard f.count == count else { throw ImportFailure("tensor '\(t.name)' of shape \(t.dims) holds \(f.count) values") }
        case .ints(let i):
            guard !t.dataType.isFloatingPoint else { throw ImportFailure("tensor '\(t.name)' of type \(t.dataType) holds integer data") }
            guard i.count == count else { throw ImportFailure("tensor '\(t.name)' of shape \(t.dims) holds \(i.count) values") }
        }
        let storage: Storage
        switch t.data {
        case .floats(let f): storage = .floats(f)
        case .ints(let i): storage = .ints(i)
        }
        self.init(shape: t.dims, dataType: t.dataType, storage: storage)
    }

    /// The element count of `shape`, checked for negative sizes, overflow and the size cap.
    static func checkedCount(_ shape: [Int], what: String) throws -> Int {
        var total = 1
        for d in shape {
            guard d >= 0 else { throw ImportFailure("\(what) has a negative dimension in \(shape)") }
            let (p, overflow) = total.multipliedReportingOverflow(by: d)
            guard !overflow, p <= maxElements else {
                throw ImportFailure("\(what) of shape \(shape) has more than \(maxElements) elements")
            }
            total = p
        }
        return total
    }

    var count: Int { shape.elementCount }
    var rank: Int { shape.count }
    var isFloat: Bool {
        if case .floats = storage { return true }
        return false
    }

    /// The integer elements as Int64; fails for float data and for symbolic elements.
    func int64s(_ what: String) throws -> [Int64] {
        guard case .ints(let v) = storage else { throw ImportFailure("\(what) must be integers, got \(dataType) data") }
        try requireKnown(what)
        return v
    }

    /// The integer elements as Int.
    func ints(_ what: String) throws -> [Int] { try int64s(what).map { Int($0) } }

    /// The elements as Float, converting integers; fails for symbolic elements.
    func floats(_ what: String) throws -> [Float] {
        try requireKnown(what)
        switch storage {
        case .floats(let f): return f
        case .ints(let i): return i.map { Float($0) }
        }
    }

    /// The single element of a one-element tensor as Float.
    func scalarFloat(_ what: String) throws -> Float {
        let f = try floats(what)
        guard f.count == 1 else { throw ImportFailure("\(what) must be a scalar, got shape \(shape)") }
        return f[0]
    }

    /// The single element of a one-element integer tensor.
    func scalarInt(_ what: String) throws -> Int {
        let i = try ints(what)
        guard i.count == 1 else { throw ImportFailure("\(what) must be a scalar, got shape \(shape)") }
        return i[0]
    }

    func requireKnown(_ what: String) throws {
        guard symbols.isEmpty else {
            throw ImportFailure("\(what) depends on a symbolic dimension (\(symbolText)), so it is not known at import time")
        }
    }

    private var symbolText: String {
        let names = Set(symbols.values.map { s -> String in
            if case .dim(let n) = s { return n }
            return "?"
        })
        return names.sorted().joined(separator: ", ")
    }

    /// The same data under another shape of the same element count.
    func reshaped(_ newShape: [Int]) -> ConstTensor {
        var t = self
        t.shape = newShape
        return t
    }

    /// A tensor of `newShape` whose element k is element `indices[k]` of this one (data movement:
    /// transpose, slice, gather, concat, expand share it). Symbolic elements move with their data.
    func gathered(_ indices: [Int], shape newShape: [Int]) -> ConstTensor {
        let storage: Storage
        switch self.storage {
        case .floats(let f): storage = .floats(indices.map { f[$0] })
        case .ints(let i): storage = .ints(indices.map { i[$0] })
        }
        var syms: [Int: SymbolicElement] = [:]
        if !symbols.isEmpty {
            for (k, src) in indices.enumerated() { if let s = symbols[src] { syms[k] = s } }
        }
        return ConstTensor(shape: newShape, dataType: dataType, storage: storage, symbols: syms)
    }

    /// The symbolic element at a flat index, or nil when known.
    func symbol(at i: Int) -> SymbolicElement? { symbols.isEmpty ? nil : symbols[i] }

    /// The IR tensor, for a constant that a runtime op reads as data. Integer data (as when a
    /// folded shape computation is a graph output) converts only when every value is exact in float32.
    func irTensor(_ what: String, allowIntegers: Bool) throws -> Tensor {
        try requireKnown(what)
        switch storage {
        case .floats(let f):
            return Tensor(shape: shape, scalars: f)
        case .ints(let i):
            guard allowIntegers else {
                throw ImportFailure("\(what) holds \(dataType) data, but IR values are float32; only shape arithmetic may read integers")
            }
            let limit: Int64 = 1 << 24
            guard i.allSatisfy({ $0 >= -limit && $0 <= limit }) else {
                throw ImportFailure("\(what) holds \(dataType) values that float32 cannot represent exactly")
            }
            return Tensor(shape: shape, scalars: i.map { Float($0) })
        }
    }
}
