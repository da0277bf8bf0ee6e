// ConvGradients: convolution backward: weights by sgemm against im2col, input by sgemm then col2im.
import IR

/// Accumulates an im2col matrix back into input planes: the adjoint of `im2col2D`. Each column
/// entry is added to the input pixel it was copied from; padding entries are dropped.
func col2im2D(_ col: UnsafePointer<Float>, channels: Int, _ g: WindowGeometry, rowStride: Int, columnOffset: Int,
              into dst: UnsafeMutablePointer<Float>) {
    let wo = g.outWidth
    var row = 0
    for c in 0..<channels {
        let plane = dst + c * g.inPixels
        for ky in 0..<g.kernelH {
            let rows = g.validRows(ky: ky)
            for kx in 0..<g.kernelW {
                let cols = g.validColumns(kx: kx)
                let src = col + row * rowStride + columnOffset
                row += 1
                guard !cols.isEmpty else { continue }
                let base = kx * g.dilationW - g.padLeft
                for oy in rows {
                    let iy = oy * g.strideH - g.padTop + ky * g.dilationH
                    let d = plane + iy * g.width + base
                    let r = src + oy * wo
                    if g.strideW == 1 {
                        for ox in cols { d[ox] += r[ox] }
                    } else {
                        let sw = g.strideW
                        for ox in cols { d[ox * sw] += r[ox] }
                    }
                }
            }
        }
    }
}

/// The gradients of a convolution (1-D or 2-D, any groups, strides, pads and dilations).
enum ConvGradients {
    /// Images whose output planes are smaller than this are batched into one GEMM (as forward).
    static let minimumGEMMColumns = 1024

    static func backward(x: Tensor, weight: Tensor, dy: Tensor, attributes a: ConvAttributes,
                         needInput: Bool, needWeight: Bool, needBias: Bool) -> (dx: Tensor?, dw: Tensor?, db: Tensor?) {
        let n = x.shape[0], cin = x.shape[1], cout = dy.shape[1]
        let group = a.group, cg = cin / group, coutg = cout / group
        guard let g = WindowGeometry(input: x.shape, output: dy.shape, kernel: a.kernel, strides: a.strides,
                                     pads: a.pads, dilations: a.dilations) else { return (nil, nil, nil) }
        let pixels = g.outPixels
        let k = cg * g.kernelH * g.kernelW
        var db: Tensor? = nil
        if needBias {
            var b = [Float](repeating: 0, count: cout)
            dy.scalars.withUnsafeBufferPointer { d in
                for i in 0..<n { for c in 0..<cout {
                    var s: Float = 0
                    let row = (i * cout + c) * pixels
                    for p in 0..<pixels { s += d[row + p] }
                    b[c] += s
                } }
            }
            db = Tensor(shape: [cout], scalars: b)
        }
        guard needInput || needWeight, n > 0, pixels > 0, k > 0, coutg > 0 else {
            return (needInput ? Tensor(shape: x.shape, repeating: 0) : nil,
                    needWeight ? Tensor(shape: weight.shape, repeating: 0) : nil, db)
        }
        var chunk = pixels >= minimumGEMMColumns ? 1 : min(n, (minimumGEMMColumns + pixels - 1) / pixels)
        chunk = max(1, min(chunk, (16 << 20) / max(1, k * pixels)))
        let columns = chunk * pixels
        let col = UnsafeMutablePointer<Float>.allocate(capacity: k * columns)
        let dyc = UnsafeMutablePointer<Float>.allocate(capacity: coutg * columns)
        defer { col.deallocate(); dyc.deallocate() }
        var dw = [Float](repeating: 0, count: needWeight ? weight.count : 0)
        var dx = [Float](repeating: 0, count: needInput ? x.count : 0)
        x.scalars.withUnsafeBufferPointer { xb in
        weight.scalars.withUnsafeBufferPointer { wb in
        dy.scalars.withUnsafeBufferPointer { db in
        dw.withUnsafeMutableBufferPointer { dwb in
        dx.withUnsafeMutableBufferPointer { dxb in
            guard let xp = xb.baseAddress, let wp = wb.baseAddress, let dp = db.baseAddress else { return }
            var first = 0
            while first < n {
                let count = min(chunk, n - first)
                let width = count * pixels
                for gi in 0..<group {
                    for i in 0..<count {
                        for m in 0..<coutg {
                            (dyc + m * width + i * pixels).update(from: dp + ((first + i) * cout + gi * coutg + m) * pixels, count: pixels)
                        }
                    }
                    if needWeight, let dwp = dwb.baseAddress {
                        for i in 0..<count {
                            im2col2D(xp + ((first + i) * cin + gi * cg) * g.inPixels, channels: cg, channelStride: g.inPixels, g, into: col,
                                     rowStride: width, columnOffset: i * pixels)
                        }
                        // dW[g] += dY[g] · colᵀ
                        sgemm(transB: true, m: coutg, n: k, k: width, a: dyc, lda: width, b: col, ldb: width,
                              beta: 1, c: dwp + gi * coutg * k, ldc: k)
                    }
                    if needInput, let dxp = dxb.baseAddress {
                        // dcol = W[g]ᵀ · dY[g], then scattered back onto the input planes.
                        sgemm(transA: true, m: k, n: width, k: coutg, a: wp + gi * coutg * k, lda: k, b: dyc, ldb: width,
                              c: col, ldc: width)
                        for i in 0..<count {
                            col2im2D(col, channels: cg, g, rowStride: width, columnOffset: i * pixels,
                                     into: dxp + ((first + i) * cin + gi * cg) * g.inPixels)
                        }
                    }
                }
                first += count
            }
        } } } } }
        return (needInput ? Tensor(shape: x.shape, scalars: dx) : nil,
                needWeight ? Tensor(shape: weight.shape, scalars: dw) : nil, db)
    }
}
