// DepthwiseConv: the direct kernel for convolutions where each group reads one input channel.

/// Depthwise 2-D convolution (group = Cin, Cout = Cin·multiplier) without bias: output channel o
/// reads input channel o / multiplier. For each kernel tap, the rows and columns that fall inside
/// the image are computed once, so the inner loop has no bounds checks and, at stride 1, runs over
/// contiguous memory.
func depthwiseConv2D(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                     batch n: Int, channels: Int, multiplier: Int, _ g: WindowGeometry) {
    let cout = channels * multiplier
    let taps = g.kernelH * g.kernelW
    let wo = g.outWidth, sw = g.strideW
    for i in 0..<n {
        for oc in 0..<cout {
            let src = x + (i * channels + oc / multiplier) * g.inPixels
            let dst = y + (i * cout + oc) * g.outPixels
            dst.update(repeating: 0, count: g.outPixels)
            let weights = w + oc * taps
            for ky in 0..<g.kernelH {
                let rows = g.validRows(ky: ky)
                for kx in 0..<g.kernelW {
                    let cols = g.validColumns(kx: kx)
                    let wv = weights[ky * g.kernelW + kx]
                    if cols.isEmpty { continue }
                    for oy in rows {
                        let iy = oy * g.strideH - g.padTop + ky * g.dilationH
                        let s = src + iy * g.width + kx * g.dilationW - g.padLeft
                        let d = dst + oy * wo
                        if sw == 1 {
                            for ox in cols { d[ox] += wv * s[ox] }
                        } else {
                            for ox in cols { d[ox] += wv * s[ox * sw] }
                        }
                    }
                }
            }
        }
    }
}
