/* same_conv_weight_gradient: the weight gradient of an s2dc_same_conv convolution, read from the planes in place (no im2col). */
#include "CKernels.h"
#include "same_conv_taps.h"

#include <stdlib.h>

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>
#define S2DC_HAVE_AVX512 1
#else
#define S2DC_HAVE_AVX512 0
#endif

/* Register tile: OUT output channels by TERMS weights (input channel, tap) = 16 accumulators of 16
 * lanes; each column vector loads OUT gradient vectors and TERMS shifted input vectors.
 * Columns go in chunks that keep a chunk's gradient and input rows in L2 while every tile reads
 * them. */
enum { OUT = 4, TERMS = 4, LANES = 16, MAX_TAPS = 64, CHUNK = S2DC_WEIGHT_GRADIENT_CHUNK };

#if S2DC_HAVE_AVX512

/* The lanes of the vector of columns [col, col + 16) whose tap (dy, dx) input lies inside the
 * image and whose column is before `end`. */
static __mmask16 vector_mask(const s2dc_same_conv *g, long col, long end, long dy, long dx)
{
    long plane = g->height * g->width, pixel = col % plane;
    long oy = pixel / g->width, ox = pixel % g->width;
    __mmask16 m = 0;
    for (long l = 0; l < LANES && col + l < end; ++l) {
        long iy = oy + dy, ix = ox + dx;
        if (iy >= 0 && iy < g->height && ix >= 0 && ix < g->width) m |= (__mmask16)(1u << l);
        if (++ox == g->width) {
            ox = 0;
            if (++oy == g->height) oy = 0;
        }
    }
    return m;
}

__attribute__((target("avx512f")))
static float hsum(__m512 v) { return _mm512_reduce_add_ps(v); }

__attribute__((target("avx512f")))
void s2dc_same_conv_weight_gradient(const float *x, const float *dy, float *dw, long m, const s2dc_same_conv *g,
                                    long first, long end)
{
    long taps = g->kernel_h * g->kernel_w;
    if (taps > MAX_TAPS || first >= end || m <= 0 || g->channels <= 0) return;
    long k = g->channels * taps;
    long offsets[MAX_TAPS], dys[MAX_TAPS], dxs[MAX_TAPS];
    s2dc_same_conv_taps(g, offsets, dys, dxs);
    long vectors = (CHUNK + LANES - 1) / LANES;
    /* Each chunk's input masks, per tap and vector; a gradient vector past `end` loads zeros. */
    __mmask16 *masks = (__mmask16 *)malloc(sizeof(__mmask16) * (size_t)(taps * vectors));
    if (!masks) return;
    for (long start = first; start < end; start += CHUNK) {
        long stop = end - start < CHUNK ? end : start + CHUNK;
        long nv = (stop - start + LANES - 1) / LANES;
        for (long t = 0; t < taps; ++t)
            for (long v = 0; v < nv; ++v) masks[t * vectors + v] = vector_mask(g, start + v * LANES, stop, dys[t], dxs[t]);
        for (long o0 = 0; o0 < m; o0 += OUT) {
            const float *drow[OUT];
            int dlive[OUT];
            for (int i = 0; i < OUT; ++i) {
                dlive[i] = o0 + i < m;
                drow[i] = dy + (dlive[i] ? o0 + i : m - 1) * g->out_channel_stride;
            }
            for (long q0 = 0; q0 < k; q0 += TERMS) {
                const float *xrow[TERMS];
                const __mmask16 *xmask[TERMS];
                int xlive[TERMS];
                for (int j = 0; j < TERMS; ++j) {
                    long q = q0 + j < k ? q0 + j : k - 1;
                    long c = q / taps, t = q % taps;
                    xlive[j] = q0 + j < k;
                    xrow[j] = x + c * g->in_channel_stride + offsets[t];
                    xmask[j] = masks + t * vectors;
                }
                __m512 acc[OUT][TERMS];
                for (int i = 0; i < OUT; ++i)
                    for (int j = 0; j < TERMS; ++j) acc[i][j] = _mm512_setzero_ps();
                for (long v = 0; v < nv; ++v) {
                    long col = start + v * LANES;
                    long left = stop - col;
                    __mmask16 tail = left >= LANES ? 0xFFFF : (__mmask16)((1u << left) - 1);
                    __m512 d[OUT], xv[TERMS];
                    for (int i = 0; i < OUT; ++i) d[i] = _mm512_maskz_loadu_ps(dlive[i] ? tail : 0, drow[i] + col);
                    for (int j = 0; j < TERMS; ++j) xv[j] = _mm512_maskz_loadu_ps(xlive[j] ? xmask[j][v] : 0, xrow[j] + col);
                    for (int i = 0; i < OUT; ++i)
                        for (int j = 0; j < TERMS; ++j) acc[i][j] = _mm512_fmadd_ps(d[i], xv[j], acc[i][j]);
                }
                for (int i = 0; i < OUT; ++i) {
                    if (!dlive[i]) continue;
                    for (int j = 0; j < TERMS; ++j)
                        if (xlive[j]) dw[(o0 + i) * k + q0 + j] += hsum(acc[i][j]);
                }
            }
        }
    }
    free(masks);
}

#else

void s2dc_same_conv_weight_gradient(const float *x, const float *dy, float *dw, long m, const s2dc_same_conv *g,
                                    long first, long end)
{
    (void)x; (void)dy; (void)dw; (void)m; (void)g; (void)first; (void)end;
}

#endif
