/* same_conv: stride-1 "same" (and phase-split stride-2) convolution as an AVX-512 implicit GEMM: no im2col. */
#include "CKernels.h"
#include "same_conv_taps.h"

#include <stdlib.h>

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>
#define S2DC_HAVE_AVX512 1
#else
#define S2DC_HAVE_AVX512 0
#endif

enum { ROWS = S2DC_CONV_PANEL_ROWS, VECTORS = 3, LANES = 16, COLUMNS = VECTORS * LANES, MAX_TAPS = 64 };

/* Above this many input channels a panel's input is copied into a contiguous window first (see
 * s2dc_same_conv_run); measured on Zen 4: 1.3x faster for 384 and 576 channels, 0.9x for 16-64. */
enum { WINDOW_CHANNELS = 64 };

size_t s2dc_packed_weights_count(long m, long k)
{
    return (size_t)((m + ROWS - 1) / ROWS) * (size_t)k * ROWS;
}

void s2dc_pack_weights(const float *w, long m, long k, float *packed)
{
    long panels = (m + ROWS - 1) / ROWS;
    for (long p = 0; p < panels; ++p)
        for (long i = 0; i < k; ++i)
            for (long r = 0; r < ROWS; ++r) {
                long row = p * ROWS + r;
                packed[(p * k + i) * ROWS + r] = row < m ? w[row * k + i] : 0.0f;
            }
}

void s2dc_same_conv_taps(const s2dc_same_conv *g, long *offsets, long *dys, long *dxs)
{
    for (long ky = 0; ky < g->kernel_h; ++ky)
        for (long kx = 0; kx < g->kernel_w; ++kx) {
            long t = ky * g->kernel_w + kx;
            if (g->phases == 2) {
                long ry = ky - g->pad_top, rx = kx - g->pad_left;
                long dy = ry >= 0 ? ry / 2 : -((1 - ry) / 2), dx = rx >= 0 ? rx / 2 : -((1 - rx) / 2);
                dys[t] = dy;
                dxs[t] = dx;
                offsets[t] = (2 * (ry - 2 * dy) + (rx - 2 * dx)) * g->columns + dy * g->width + dx;
            } else {
                dys[t] = ky * g->dilation_h - g->pad_top;
                dxs[t] = kx * g->dilation_w - g->pad_left;
                offsets[t] = dys[t] * g->width + dxs[t];
            }
        }
}

#if S2DC_HAVE_AVX512

int s2dc_same_conv_available(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f");
}

/* One panel of ROWS output channels by COLUMNS columns: the accumulators stay in 24 registers
 * while the loop runs over channels and taps; each tap's three input vectors are loaded from the
 * input plane shifted by the tap's offset, with the lanes whose tap falls outside the image
 * masked to 0 (masked lanes do not fault). */
__attribute__((target("avx512f")))
static void panel(const float *x, const float *a, const float *bias, const float *residual, float *y, long rows,
                  long channels, long in_stride, long out_stride, long taps, const long *offsets,
                  const __mmask16 *masks,
                  __mmask16 store0, __mmask16 store1, __mmask16 store2, float low, float high)
{
    __m512 acc[ROWS][VECTORS];
    _Pragma("GCC unroll 8")
    for (int r = 0; r < ROWS; ++r) {
        __m512 b = _mm512_set1_ps(bias && r < rows ? bias[r] : 0.0f);
        acc[r][0] = b; acc[r][1] = b; acc[r][2] = b;
    }
    for (long c = 0; c < channels; ++c) {
        const float *xc = x + c * in_stride;
        for (long t = 0; t < taps; ++t) {
            const float *s = xc + offsets[t];
            __m512 b0 = _mm512_maskz_loadu_ps(masks[3 * t], s);
            __m512 b1 = _mm512_maskz_loadu_ps(masks[3 * t + 1], s + LANES);
            __m512 b2 = _mm512_maskz_loadu_ps(masks[3 * t + 2], s + 2 * LANES);
            _Pragma("GCC unroll 8")
            for (int r = 0; r < ROWS; ++r) {
                __m512 w = _mm512_set1_ps(a[r]);
                acc[r][0] = _mm512_fmadd_ps(w, b0, acc[r][0]);
                acc[r][1] = _mm512_fmadd_ps(w, b1, acc[r][1]);
                acc[r][2] = _mm512_fmadd_ps(w, b2, acc[r][2]);
            }
            a += ROWS;
        }
    }
    /* The bounds are made only now: inside the loop the 24 accumulators, three inputs and a
     * broadcast weight leave no register free for them. */
    __m512 lo = _mm512_set1_ps(low), hi = _mm512_set1_ps(high);
    if (residual)
        _Pragma("GCC unroll 8")
        for (int r = 0; r < ROWS; ++r) {
            if (r >= rows) break;
            const float *add = residual + r * out_stride;
            acc[r][0] = _mm512_add_ps(acc[r][0], _mm512_maskz_loadu_ps(store0, add));
            acc[r][1] = _mm512_add_ps(acc[r][1], _mm512_maskz_loadu_ps(store1, add + LANES));
            acc[r][2] = _mm512_add_ps(acc[r][2], _mm512_maskz_loadu_ps(store2, add + 2 * LANES));
        }
    _Pragma("GCC unroll 8")
    for (int r = 0; r < ROWS; ++r) {
        if (r >= rows) break;
        float *out = y + r * out_stride;
        /* max(lo, v) and min(hi, v) return v when v is NaN, so NaN passes as in the scalar Clip. */
        _mm512_mask_storeu_ps(out, store0, _mm512_min_ps(hi, _mm512_max_ps(lo, acc[r][0])));
        _mm512_mask_storeu_ps(out + LANES, store1, _mm512_min_ps(hi, _mm512_max_ps(lo, acc[r][1])));
        _mm512_mask_storeu_ps(out + 2 * LANES, store2, _mm512_min_ps(hi, _mm512_max_ps(lo, acc[r][2])));
    }
}

/* The load masks of the COLUMNS lanes of a panel starting at pixel `pixel` of its plane, for every
 * tap: lane j of vector v is set when the tap's input pixel lies inside the image. */
static void lane_masks(const s2dc_same_conv *g, long pixel, long taps, const long *dys, const long *dxs,
                       __mmask16 *masks)
{
    long oy = pixel / g->width, ox = pixel % g->width;
    for (long i = 0; i < taps * VECTORS; ++i) masks[i] = 0;
    for (long j = 0; j < COLUMNS; ++j) {
        __mmask16 bit = (__mmask16)(1u << (j % LANES));
        for (long t = 0; t < taps; ++t) {
            long iy = oy + dys[t], ix = ox + dxs[t];
            if (iy >= 0 && iy < g->height && ix >= 0 && ix < g->width) masks[t * VECTORS + j / LANES] |= bit;
        }
        if (++ox == g->width) {
            ox = 0;
            if (++oy == g->height) oy = 0;
        }
    }
}

/* The load masks of the panel at `col` (from the table when it has the panel's start, else
 * computed into `own`), restricted to the columns before `end`; `store` gets each vector's lanes
 * before `end`. */
static const __mmask16 *panel_masks(const s2dc_same_conv *g, long col, long end, const __mmask16 *table, long step,
                                    long taps, const long *dys, const long *dxs, __mmask16 *own,
                                    __mmask16 store[VECTORS])
{
    const __mmask16 *masks;
    long pixel = col % (g->height * g->width);
    if (table && pixel % step == 0) {
        masks = table + (pixel / step) * taps * VECTORS;
    } else {
        lane_masks(g, pixel, taps, dys, dxs, own);
        masks = own;
    }
    for (long v = 0; v < VECTORS; ++v) {
        long n = end - col - v * LANES;
        store[v] = n >= LANES ? 0xFFFF : n <= 0 ? 0 : (__mmask16)((1u << n) - 1);
    }
    if (end - col < COLUMNS) {
        for (long t = 0; t < taps; ++t)
            for (long v = 0; v < VECTORS; ++v) own[t * VECTORS + v] = masks[t * VECTORS + v] & store[v];
        masks = own;
    }
    return masks;
}

__attribute__((target("avx512f")))
void s2dc_same_conv_run(const float *x, const float *packed, const float *bias, const float *residual, float *y,
                        long m, const s2dc_same_conv *g, long first, long end)
{
    long taps = g->kernel_h * g->kernel_w;
    if (taps > MAX_TAPS || first >= end) return;
    long k = g->channels * taps, plane = g->height * g->width;
    long offsets[MAX_TAPS];
    long dys[MAX_TAPS], dxs[MAX_TAPS];
    s2dc_same_conv_taps(g, offsets, dys, dxs);
    float lo = g->lo, hi = g->hi;
    /* Which lanes of each vector each tap reads inside the image depends only on where the panel
     * starts in its plane; panels start every COLUMNS columns, so there are plane / gcd(COLUMNS,
     * plane) different starts (49 for 28x28, 14x14 and 7x7 planes). Their masks are computed once,
     * unless there are too many to keep (large planes), where each panel computes its own. */
    long step = COLUMNS, rem = plane;
    while (rem) { long t = step % rem; step = rem; rem = t; }   /* step = gcd(COLUMNS, plane) */
    long patterns = plane / step;
    int cached = patterns * taps * VECTORS <= 1 << 16;
    __mmask16 *table = cached ? (__mmask16 *)malloc(sizeof(__mmask16) * (size_t)(patterns * taps * VECTORS)) : 0;
    if (cached && !table) cached = 0;
    if (cached)
        for (long q = 0; q < patterns; ++q) lane_masks(g, q * step, taps, dys, dxs, table + q * taps * VECTORS);
    __mmask16 own[MAX_TAPS * VECTORS];
    /* (A window over phase-split input would span all four phases: those read in place.) */
    if (g->channels <= WINDOW_CHANNELS || g->phases == 2) {
        /* Few input channels, read in place. A short K (a 1x1 expansion: 16 channels to 96) is
         * bound by its stores, so the columns go in blocks of 16 panels, each done one panel of
         * output rows at a time: stores go to 8 rows at once rather than to every output channel
         * (planes a multiple of 4 KiB apart share the L1's sets). */
        long block = 16 * COLUMNS;
        for (long start = first; start < end; start += block) {
            long stop = end - start < block ? end : start + block;
            for (long p = 0; p * ROWS < m; ++p) {
                long rows = m - p * ROWS < ROWS ? m - p * ROWS : ROWS;
                for (long col = start; col < stop; col += COLUMNS) {
                    __mmask16 store[VECTORS];
                    const __mmask16 *masks =
                        panel_masks(g, col, stop, cached ? table : 0, step, taps, dys, dxs, own, store);
                    long at = p * ROWS * g->out_channel_stride + col;
                    panel(x + col, packed + p * k * ROWS, bias ? bias + p * ROWS : 0, residual ? residual + at : 0,
                          y + at, rows, g->channels, g->in_channel_stride, g->out_channel_stride, taps, offsets,
                          masks, store[0], store[1], store[2], lo, hi);
                }
            }
        }
    } else {
        /* More input channels: each panel's input window (every tap's shift of its columns) is
         * copied once into a contiguous buffer that all row panels then read. Read in place, one
         * plane per channel, the loads of 100+ channels at plane strides fall into few cache sets
         * and stall (measured: 4 to 25 ms for one 576-channel 1x1 layer, depending on where the
         * planes lie). */
        long omin = offsets[0], omax = offsets[0];
        for (long t = 1; t < taps; ++t) {
            if (offsets[t] < omin) omin = offsets[t];
            if (offsets[t] > omax) omax = offsets[t];
        }
        long width = COLUMNS + omax - omin, chunks = (width + LANES - 1) / LANES;
        long ld = chunks * LANES + LANES;   /* an odd number of vectors: rows spread over the sets */
        if ((ld / LANES) % 2 == 0) ld += LANES;
        /* With many more outputs than inputs (a 1x1 expansion, 96 channels to 576) stores bound
         * the kernel again: then windows of several panels at once (as much as half the L2 cache
         * holds), each block done one panel of output rows at a time, so that stores go to 8 rows
         * at once (see above). Measured: 1.8x faster for 96 to 576 channels in some placements of
         * the planes, and 2x slower for 576 to 96, hence only there. */
        long size = g->channels * ld, per = m >= 2 * g->channels ? (1L << 19) / (long)sizeof(float) / size : 1;
        per = per < 1 ? 1 : per > 16 ? 16 : per;
        float *window = (float *)aligned_alloc(64, sizeof(float) * (size_t)(per * size));
        if (!window) { free(table); return; }
        long shifted[MAX_TAPS];
        for (long t = 0; t < taps; ++t) shifted[t] = offsets[t] - omin;
        for (long start = first; start < end; start += per * COLUMNS) {
            long stop = end - start < per * COLUMNS ? end : start + per * COLUMNS;
            /* Source columns col + omin ... of each channel; those outside the tensor read as 0
             * (no tap uses them: they are masked). */
            for (long col = start, j = 0; col < stop; col += COLUMNS, ++j) {
                long from = col + omin;
                for (long c = 0; c < g->channels; ++c) {
                    const float *src = x + c * g->in_channel_stride;
                    float *dst = window + j * size + c * ld;
                    for (long v = 0; v < chunks; ++v) {
                        long i = from + v * LANES;
                        __mmask16 inside = 0xFFFF;
                        if (i < 0 || i + LANES > g->columns) {
                            inside = 0;
                            for (long l = 0; l < LANES; ++l)
                                if (i + l >= 0 && i + l < g->columns) inside |= (__mmask16)(1u << l);
                        }
                        _mm512_store_ps(dst + v * LANES, _mm512_maskz_loadu_ps(inside, src + i));
                    }
                }
            }
            for (long p = 0; p * ROWS < m; ++p) {
                long rows = m - p * ROWS < ROWS ? m - p * ROWS : ROWS;
                for (long col = start, j = 0; col < stop; col += COLUMNS, ++j) {
                    __mmask16 store[VECTORS];
                    const __mmask16 *masks =
                        panel_masks(g, col, stop, cached ? table : 0, step, taps, dys, dxs, own, store);
                    long at = p * ROWS * g->out_channel_stride + col;
                    panel(window + j * size, packed + p * k * ROWS, bias ? bias + p * ROWS : 0,
                          residual ? residual + at : 0, y + at, rows, g->channels, ld, g->out_channel_stride, taps,
                          shifted, masks, store[0], store[1], store[2], lo, hi);
                }
            }
        }
        free(window);
    }
    free(table);
}

#else

int s2dc_same_conv_available(void) { return 0; }

void s2dc_same_conv_run(const float *x, const float *packed, const float *bias, const float *residual, float *y,
                        long m, const s2dc_same_conv *g, long first, long end)
{
    (void)x; (void)packed; (void)bias; (void)residual; (void)y; (void)m; (void)g; (void)first; (void)end;
}

#endif
