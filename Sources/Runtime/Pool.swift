// Pool: MaxPool and AveragePool over 1, 2 or more spatial dimensions (pads, dilations, ceil mode).
import IR

extension Kernels {
    /// ONNX MaxPool: the maximum over the window's taps that fall inside the input (padding never
    /// wins). NaN propagates, as in NumPy.
    public static func maxPool(_ x: Tensor, attributes a: PoolAttributes, outputShape: [Int]) -> Tensor {
        pool(x, a, outputShape, average: false)
    }

    /// ONNX AveragePool. The divisor counts the taps inside the input, or with
    /// `countIncludePad` also those in the explicit padding; taps past the padding (which ceil
    /// mode can create) never count, as in the ONNX reference.
    public static func averagePool(_ x: Tensor, attributes a: PoolAttributes, outputShape: [Int]) -> Tensor {
        pool(x, a, outputShape, average: true)
    }

    private static func pool(_ x: Tensor, _ a: PoolAttributes, _ outputShape: [Int], average: Bool) -> Tensor {
        let planes = x.shape[0] * x.shape[1]
        let spatial = x.shape.count - 2
        let input = Array(x.shape.dropFirst(2)), output = Array(outputShape.dropFirst(2))
        let limits = (0..<spatial).map { input[$0] + a.pads[spatial + $0] }  // end of the padded extent
        return Tensor.filled(shape: outputShape) { out in
            guard let yp = out.baseAddress, !out.isEmpty else { return }
            x.scalars.withUnsafeBufferPointer { xb in
                guard let xp = xb.baseAddress else { return }
                let inPixels = input.reduce(1, *), outPixels = output.reduce(1, *)
                for p in 0..<planes {
                    let src = xp + p * inPixels, dst = yp + p * outPixels
                    if spatial == 2 {
                        pool2D(src, dst, input: input, output: output, a, limits: limits, average: average)
                    } else {
                        poolND(src, dst, input: input, output: output, a, limits: limits, average: average)
                    }
                }
            }
        }
    }

    /// The result of one window from its running figures.
    @inline(__always)
    private static func finish(max m: Float, sum: Float, inside: Int, padded: Int, average: Bool, includePad: Bool) -> Float {
        if !average { return inside > 0 ? m : -.infinity }
        let divisor = includePad ? padded : inside
        return divisor > 0 ? sum / Float(divisor) : 0
    }

    private static func pool2D(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, input: [Int], output: [Int],
                               _ a: PoolAttributes, limits: [Int], average: Bool) {
        let h = input[0], w = input[1]
        let kh = a.kernel[0], kw = a.kernel[1], sh = a.strides[0], sw = a.strides[1]
        let dh = a.dilations[0], dw = a.dilations[1], pt = a.pads[0], pl = a.pads[1]
        for oy in 0..<output[0] {
            let y0 = oy * sh - pt
            for ox in 0..<output[1] {
                let x0 = ox * sw - pl
                var m = -Float.infinity, sum: Float = 0, inside = 0, padded = 0
                for ky in 0..<kh {
                    let iy = y0 + ky * dh
                    if iy >= limits[0] { break }
                    let rowInside = iy >= 0 && iy < h
                    for kx in 0..<kw {
                        let ix = x0 + kx * dw
                        if ix >= limits[1] { break }
                        padded += 1
                        guard rowInside, ix >= 0, ix < w else { continue }
                        let v = src[iy * w + ix]
                        inside += 1
                        if average { sum += v } else if v > m || v.isNaN { m = v }
                    }
                }
                dst[oy * output[1] + ox] = finish(max: m, sum: sum, inside: inside, padded: padded,
                                                  average: average, includePad: a.countIncludePad)
            }
        }
    }

    private static func poolND(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, input: [Int], output: [Int],
                               _ a: PoolAttributes, limits: [Int], average: Bool) {
        let rank = input.count
        let strides = rowMajorStrides(input)
        let taps = a.kernel.reduce(1, *)
        var o = [Int](repeating: 0, count: rank)
        for oi in 0..<output.reduce(1, *) {
            var m = -Float.infinity, sum: Float = 0, inside = 0, padded = 0
            var k = [Int](repeating: 0, count: rank)
            for _ in 0..<taps {
                var index = 0, isInside = true, isPadded = true
                for d in 0..<rank {
                    let i = o[d] * a.strides[d] - a.pads[d] + k[d] * a.dilations[d]
                    if i >= limits[d] { isPadded = false; break }
                    if i < 0 || i >= input[d] { isInside = false } else { index += i * strides[d] }
                }
                increment(&k, within: a.kernel)
                guard isPadded else { continue }
                padded += 1
                guard isInside else { continue }
                let v = src[index]
                inside += 1
                if average { sum += v } else if v > m || v.isNaN { m = v }
            }
            dst[oi] = finish(max: m, sum: sum, inside: inside, padded: padded, average: average, includePad: a.countIncludePad)
            increment(&o, within: output)
        }
    }
}
