// Im2col: unfolds sliding windows into the columns of a matrix, so that a convolution is one GEMM.
import Foundation
import IR

/// Writes the 2-D im2col matrix of `channels` input planes (`src`, planes `channelStride` apart)
/// into `dst`: row (c·kh + ky)·kw + kx, column `columnOffset` + (oy − band start)·Wo + ox holds
/// the input under that kernel tap for output pixel (oy, ox), or 0 in the padding, for the output
/// rows in `band` (all by default). Rows are `rowStride` apart, so several images can share one
/// matrix side by side, and a large image can be done a band of rows at a time.
func im2col2D(_ src: UnsafePointer<Float>, channels: Int, channelStride: Int, _ g: WindowGeometry,
              into dst: UnsafeMutablePointer<Float>, rowStride: Int, columnOffset: Int, band: Range<Int>? = nil) {
    let wo = g.outWidth
    let band = band ?? 0..<g.outHeight
    let first = band.lowerBound * wo, last = band.upperBound * wo   // the band's output indices
    // Stride 1 with the output as wide as the input: a tap's whole row is the input plane shifted
    // by one offset, so it is one copy plus zeroing of the columns that wrapped around. (Per-row
    // copies of 7–28 floats spend more time in calls than in moving data.)
    let shifted = g.strideH == 1 && g.strideW == 1 && g.width == wo
    // Which rows and columns each tap sees inside the image, and (stride 1) which columns a
    // shift wraps around, computed once rather than per channel.
    let rowRanges = (0..<g.kernelH).map { ky -> Range<Int> in
        let r = g.validRows(ky: ky).clamped(to: band)
        return r.isEmpty ? band.lowerBound..<band.lowerBound : r
    }
    let colRanges = (0..<g.kernelW).map { g.validColumns(kx: $0) }
    let wrapped = colRanges.map { cols in (0..<wo).filter { !cols.contains($0) } }
    var row = 0
    for c in 0..<channels {
        let plane = src + c * channelStride
        for ky in 0..<g.kernelH {
            let rows = rowRanges[ky]
            for kx in 0..<g.kernelW {
                let cols = colRanges[kx]
                // `out` is indexed by the output index oy·Wo + ox of the plane, shifted to the band.
                let out = dst + row * rowStride + columnOffset - first
                row += 1
                let dy = ky * g.dilationH - g.padTop, dx = kx * g.dilationW - g.padLeft
                if rows.isEmpty || cols.isEmpty {
                    fill(out + first, 0, count: last - first)
                    continue
                }
                if shifted {
                    // Output index t reads input index t + dy·W + dx; clip t to the plane.
                    let shift = dy * g.width + dx
                    let lo = min(last, max(rows.lowerBound * wo, -shift))
                    let hi = max(lo, min(rows.upperBound * wo, g.inPixels - shift))
                    fill(out + first, 0, count: lo - first)
                    if hi > lo { (out + lo).update(from: plane + lo + shift, count: hi - lo) }
                    fill(out + hi, 0, count: last - hi)
                    // The columns a row shift wrapped around: one strided pass per column.
                    let end = rows.upperBound * wo
                    for ox in wrapped[kx] {
                        var t = rows.lowerBound * wo + ox
                        while t < end { out[t] = 0; t += wo }
                    }
                    continue
                }
                for oy in band {
                    let r = out + oy * wo
                    guard rows.contains(oy) else {
                        fill(r, 0, count: wo)
                        continue
                    }
                    for ox in 0..<cols.lowerBound { r[ox] = 0 }
                    for ox in cols.upperBound..<wo { r[ox] = 0 }
                    // Input column of output column ox is ox·sw + dx.
                    let s = plane + (oy * g.strideH + dy) * g.width + dx
                    let sw = g.strideW
                    var ox = cols.lowerBound
                    if sw == 2 {
                        // Eight outputs from sixteen inputs, while the load stays inside the plane.
                        let planeEnd = plane + g.inPixels
                        while ox + 8 <= cols.upperBound, s + 2 * ox + 16 <= planeEnd {
                            let v = UnsafeRawPointer(s + 2 * ox).loadUnaligned(as: SIMD16<Float>.self).evenHalf
                            UnsafeMutableRawPointer(r + ox).storeBytes(of: v, as: SIMD8<Float>.self)
                            ox += 8
                        }
                    }
                    while ox < cols.upperBound { r[ox] = s[ox &* sw]; ox += 1 }
                }
            }
        }
    }
}

/// Sets `count` floats (none when count <= 0).
@inline(__always)
func fill(_ p: UnsafeMutablePointer<Float>, _ value: Float, count: Int) {
    if count > 0 { p.update(repeating: value, count: count) }
}

/// The sizes of an N-d sliding window (3-D and up; 1-D and 2-D use `WindowGeometry`).
struct WindowGeometryND {
    var input: [Int]      // spatial sizes
    var output: [Int]
    var kernel: [Int]
    var strides: [Int]
    var padsBegin: [Int]
    var dilations: [Int]

    var inPixels: Int { input.reduce(1, *) }
    var outPixels: Int { output.reduce(1, *) }
    var kernelSize: Int { kernel.reduce(1, *) }

    /// Calls `body(kernelIndex, outputIndex, inputIndex or nil)` for every tap of every output
    /// position, kernel taps outermost, both in row-major order.
    func forEachTap(_ body: (Int, Int, Int?) -> Void) {
        let rank = input.count
        let inStrides = rowMajorStrides(input)
        var k = [Int](repeating: 0, count: rank)
        for ki in 0..<kernelSize {
            var o = [Int](repeating: 0, count: rank)
            for oi in 0..<outPixels {
                var index = 0
                var inside = true
                for d in 0..<rank {
                    let i = o[d] * strides[d] - padsBegin[d] + k[d] * dilations[d]
                    if i < 0 || i >= input[d] { inside = false; break }
                    index += i * inStrides[d]
                }
                body(ki, oi, inside ? index : nil)
                increment(&o, within: output)
            }
            increment(&k, within: kernel)
        }
    }
}

/// Advances a row-major multi-index by one (wrapping to all zeros after the last).
func increment(_ index: inout [Int], within sizes: [Int]) {
    var d = sizes.count - 1
    while d >= 0 {
        index[d] += 1
        if index[d] < sizes[d] { return }
        index[d] = 0
        d -= 1
    }
}

/// The N-d im2col of `channels` input volumes: row c·K + kernel tap, column output position.
func im2colND(_ src: UnsafePointer<Float>, channels: Int, _ g: WindowGeometryND, into dst: UnsafeMutablePointer<Float>) {
    let k = g.kernelSize, p = g.outPixels, volume = g.inPixels
    for c in 0..<channels {
        let plane = src + c * volume
        let out = dst + c * k * p
        g.forEachTap { ki, oi, ii in
            out[ki * p + oi] = ii.map { plane[$0] } ?? 0
        }
    }
}
