// NumPyArray: an array as NumPy files hold it (float32, uint8 or int64, C order), and tensors from it.
import IR

/// An n-dimensional array read from or written to an NPY/NPZ file, in C (row-major) order.
/// The element types are the ones s2dc exchanges: float32 (tensors), uint8 (images) and int64
/// (labels).
public struct NumPyArray: Equatable, Sendable {
    /// The elements, by type.
    public enum Elements: Equatable, Sendable {
        case float32([Float])
        case uint8([UInt8])
        case int64([Int64])

        public var count: Int {
            switch self {
            case .float32(let v): return v.count
            case .uint8(let v): return v.count
            case .int64(let v): return v.count
            }
        }
    }

    public var shape: [Int]
    public var elements: Elements

    /// An array; the element count must equal the product of the shape.
    public init(shape: [Int], elements: Elements) {
        precondition(shape.allSatisfy { $0 >= 0 } && shape.elementCount == elements.count,
                     "array of shape \(shape) given \(elements.count) elements")
        self.shape = shape
        self.elements = elements
    }

    /// A float32 array holding a tensor's elements.
    public init(_ tensor: Tensor) {
        self.init(shape: tensor.shape, elements: .float32(tensor.scalars))
    }

    /// The NumPy name of the element type: "float32", "uint8" or "int64".
    public var dtype: String {
        switch elements {
        case .float32: return "float32"
        case .uint8: return "uint8"
        case .int64: return "int64"
        }
    }

    /// The array as a float32 tensor, for feeding a model input named `name`; any other element
    /// type is an error, since converting it silently would hide a wrong input file.
    public func floatTensor(forInput name: String) throws -> Tensor {
        guard case .float32(let v) = elements else {
            throw RuntimeError.input(name, "has dtype \(dtype); the model expects float32 (convert with arr.astype(np.float32))")
        }
        return Tensor(shape: shape, scalars: v)
    }
}
