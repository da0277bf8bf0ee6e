// ConvGeometry: the sizes of a 2-D sliding window (conv, pool), and which outputs see only real input.

/// The sizes of one 2-D sliding-window layer over NCHW data. 1-D layers use it with height 1.
struct WindowGeometry {
    var height: Int, width: Int
    var kernelH: Int, kernelW: Int
    var strideH: Int, strideW: Int
    var padTop: Int, padLeft: Int
    var dilationH: Int, dilationW: Int
    var outHeight: Int, outWidth: Int

    var inPixels: Int { height * width }
    var outPixels: Int { outHeight * outWidth }

    /// The geometry of an N×C×H×W (or N×C×L) input under kernel, strides, pads (begins then ends)
    /// and dilations, with the output spatial sizes shape inference computed. Nil for other ranks.
    init?(input: [Int], output: [Int], kernel: [Int], strides: [Int], pads: [Int], dilations: [Int]) {
        switch input.count {
        case 4:
            self.init(height: input[2], width: input[3], kernelH: kernel[0], kernelW: kernel[1],
                      strideH: strides[0], strideW: strides[1], padTop: pads[0], padLeft: pads[1],
                      dilationH: dilations[0], dilationW: dilations[1], outHeight: output[2], outWidth: output[3])
        case 3:
            self.init(height: 1, width: input[2], kernelH: 1, kernelW: kernel[0],
                      strideH: 1, strideW: strides[0], padTop: 0, padLeft: pads[0],
                      dilationH: 1, dilationW: dilations[0], outHeight: 1, outWidth: output[2])
        default:
            return nil
        }
    }

    init(height: Int, width: Int, kernelH: Int, kernelW: Int, strideH: Int, strideW: Int, padTop: Int,
         padLeft: Int, dilationH: Int, dilationW: Int, outHeight: Int, outWidth: Int) {
        self.height = height; self.width = width
        self.kernelH = kernelH; self.kernelW = kernelW
        self.strideH = strideH; self.strideW = strideW
        self.padTop = padTop; self.padLeft = padLeft
        self.dilationH = dilationH; self.dilationW = dilationW
        self.outHeight = outHeight; self.outWidth = outWidth
    }

    /// The output columns whose input column for kernel column `kx` lies inside the image.
    func validColumns(kx: Int) -> Range<Int> {
        Self.validRange(offset: padLeft - kx * dilationW, stride: strideW, input: width, output: outWidth)
    }

    /// The output rows whose input row for kernel row `ky` lies inside the image.
    func validRows(ky: Int) -> Range<Int> {
        Self.validRange(offset: padTop - ky * dilationH, stride: strideH, input: height, output: outHeight)
    }

    /// The outputs o in 0..<output with 0 <= o·stride − offset < input.
    static func validRange(offset: Int, stride: Int, input: Int, output: Int) -> Range<Int> {
        let lo = offset <= 0 ? 0 : (offset + stride - 1) / stride
        let last = input - 1 + offset
        let hi = last < 0 ? 0 : min(output, last / stride + 1)
        return lo < hi ? lo..<hi : 0..<0
    }
}

/// Where each N×C plane (one image's one channel, H·W contiguous floats) starts in a buffer.
///
/// NCHW puts an image's channels next to each other; CNHW (which the interpreter uses inside
/// convolution chains at batch > 1) puts a channel's images next to each other, so that one GEMM
/// covers many images and writes its rows in place.
struct PlaneLayout {
    var imageStride: Int
    var channelStride: Int

    func offset(image: Int, channel: Int) -> Int { image * imageStride + channel * channelStride }

    static func nchw(channels: Int, plane: Int) -> PlaneLayout { PlaneLayout(imageStride: channels * plane, channelStride: plane) }
    static func cnhw(batch: Int, plane: Int) -> PlaneLayout { PlaneLayout(imageStride: plane, channelStride: batch * plane) }

    /// The layout of a tensor of logical shape N×C×spatial stored in `layout`.
    init(_ layout: DataLayout, shape: [Int]) {
        let plane = shape.dropFirst(2).reduce(1, *)
        switch layout {
        case .nchw: self = .nchw(channels: shape.count > 1 ? shape[1] : 1, plane: plane)
        case .cnhw: self = .cnhw(batch: shape[0], plane: plane)
        }
    }

    init(imageStride: Int, channelStride: Int) {
        self.imageStride = imageStride
        self.channelStride = channelStride
    }
}

/// The order of the first two dimensions of an image tensor in memory. Shapes are always written
/// N×C×…; only the storage differs.
public enum DataLayout: Hashable, Sendable {
    case nchw
    case cnhw
}
