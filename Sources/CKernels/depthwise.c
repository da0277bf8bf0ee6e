/* depthwise: depthwise convolution with AVX-512 vectors over a plane's pixels, padding by masked loads. */
#include "CKernels.h"

#include <stdlib.h>

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>
#define S2DC_HAVE_AVX512 1
#else
#define S2DC_HAVE_AVX512 0
#endif

enum { LANES = 16, MAX_TAPS = 64, MAX_VECTORS = 64 };

static int same_size(const s2dc_depthwise *g)
{
    return g->stride_h == 1 && g->stride_w == 1 && g->out_height == g->height && g->out_width == g->width
        && (g->height * g->width + LANES - 1) / LANES <= MAX_VECTORS;
}

enum { MAX_CHUNKS = 16, MAX_KERNEL_W = 16 };

static int stride_two(const s2dc_depthwise *g)
{
    return g->stride_h == 2 && g->stride_w == 2 && g->dilation_h == 1 && g->dilation_w == 1
        && (g->out_width + LANES - 1) / LANES <= MAX_CHUNKS && g->kernel_w <= MAX_KERNEL_W;
}

/* Image and channel of plane q of [first, end): planes are taken in memory order, channel-major
 * for CNHW data (the images of a channel follow one another), so that consecutive planes are
 * neighbours in memory rather than a channel stride apart. */
static void plane_of(const s2dc_depthwise *g, long q, long *image, long *channel)
{
    if (g->in_channel_stride > g->in_image_stride) {
        *channel = q / g->batch;
        *image = q % g->batch;
    } else {
        *image = q / g->channels;
        *channel = q % g->channels;
    }
}

#if S2DC_HAVE_AVX512

int s2dc_depthwise_supported(const s2dc_depthwise *g)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && g->kernel_h * g->kernel_w <= MAX_TAPS
        && (same_size(g) || stride_two(g));
}

__attribute__((target("avx512f")))
static inline __m512 clamp(__m512 v, __m512 lo, __m512 hi)
{
    /* max(lo, v) and min(hi, v) return v when v is NaN, so NaN passes as in the scalar Clip. */
    return _mm512_min_ps(hi, _mm512_max_ps(lo, v));
}

/* Stride 1, same size: tap t of output pixel p reads input pixel p + offset[t] of the plane, the
 * lanes whose tap falls outside the image masked to 0 (masks computed once for every plane). */
__attribute__((target("avx512f")))
static void run_same(const float *x, const float *w, const float *bias, float *y, const s2dc_depthwise *g,
                     long first, long end)
{
    long taps = g->kernel_h * g->kernel_w, plane = g->height * g->width;
    long vectors = (plane + LANES - 1) / LANES;
    long offsets[MAX_TAPS];
    __mmask16 masks[MAX_VECTORS * MAX_TAPS];
    for (long ky = 0; ky < g->kernel_h; ++ky)
        for (long kx = 0; kx < g->kernel_w; ++kx) {
            long t = ky * g->kernel_w + kx;
            long dy = ky * g->dilation_h - g->pad_top, dx = kx * g->dilation_w - g->pad_left;
            offsets[t] = dy * g->width + dx;
            for (long v = 0; v < vectors; ++v) {
                __mmask16 m = 0;
                for (long j = 0; j < LANES; ++j) {
                    long p = v * LANES + j, oy = p / g->width, ox = p % g->width;
                    long iy = oy + dy, ix = ox + dx;
                    if (p < plane && iy >= 0 && iy < g->height && ix >= 0 && ix < g->width) m |= (__mmask16)(1u << j);
                }
                masks[v * taps + t] = m;
            }
        }
    __mmask16 last = (__mmask16)(plane % LANES == 0 ? 0xFFFF : (1u << (plane % LANES)) - 1);
    __m512 lo = _mm512_set1_ps(g->lo), hi = _mm512_set1_ps(g->hi);
    for (long q = first; q < end; ++q) {
        long i, c;
        plane_of(g, q, &i, &c);
        const float *src = x + i * g->in_image_stride + c * g->in_channel_stride;
        for (long mi = 0; mi < g->multiplier; ++mi) {
            long o = c * g->multiplier + mi;
            const float *wo = w + o * taps;
            float *dst = y + i * g->out_image_stride + o * g->out_channel_stride;
            __m512 b = _mm512_set1_ps(bias ? bias[o] : 0.0f);
            for (long v = 0; v < vectors; ++v) {
                const float *s = src + v * LANES;
                const __mmask16 *m = masks + v * taps;
                __m512 acc = b;
                for (long t = 0; t < taps; ++t)
                    acc = _mm512_fmadd_ps(_mm512_set1_ps(wo[t]), _mm512_maskz_loadu_ps(m[t], s + offsets[t]), acc);
                _mm512_mask_storeu_ps(dst + v * LANES, v == vectors - 1 ? last : 0xFFFF, clamp(acc, lo, hi));
            }
        }
    }
}

/* Stride 1, same size, CNHW in and out (the images of a channel follow one another): the planes
 * of a channel are done as one row of columns, sixteen at a time whatever the plane size (a 7x7
 * plane alone would fill only 49 of 64 lanes). The masks depend on where a vector starts in its
 * plane: plane / gcd(16, plane) patterns, computed once. */
__attribute__((target("avx512f")))
static int run_flat(const float *x, const float *w, const float *bias, float *y, const s2dc_depthwise *g,
                    long first, long end)
{
    long taps = g->kernel_h * g->kernel_w, plane = g->height * g->width;
    long step = LANES, rem = plane;
    while (rem) { long t = step % rem; step = rem; rem = t; }   /* step = gcd(LANES, plane) */
    long patterns = plane / step;
    if (patterns * taps > 1 << 16) return 0;
    __mmask16 *table = (__mmask16 *)malloc(sizeof(__mmask16) * (size_t)(patterns * taps));
    if (!table) return 0;
    long offsets[MAX_TAPS];
    for (long ky = 0; ky < g->kernel_h; ++ky)
        for (long kx = 0; kx < g->kernel_w; ++kx) {
            long t = ky * g->kernel_w + kx;
            long dy = ky * g->dilation_h - g->pad_top, dx = kx * g->dilation_w - g->pad_left;
            offsets[t] = dy * g->width + dx;
            for (long q = 0; q < patterns; ++q) {
                __mmask16 m = 0;
                for (long j = 0; j < LANES; ++j) {
                    long p = (q * step + j) % plane, iy = p / g->width + dy, ix = p % g->width + dx;
                    if (iy >= 0 && iy < g->height && ix >= 0 && ix < g->width) m |= (__mmask16)(1u << j);
                }
                table[q * taps + t] = m;
            }
        }
    __m512 lo = _mm512_set1_ps(g->lo), hi = _mm512_set1_ps(g->hi);
    /* Planes q = channel * batch + image: whole runs of one channel's images at a time. */
    for (long q = first; q < end;) {
        long c = q / g->batch, i0 = q % g->batch;
        long i1 = c * g->batch + g->batch <= end ? g->batch : end - c * g->batch;
        const float *src = x + c * g->in_channel_stride + i0 * plane;
        long columns = (i1 - i0) * plane;
        for (long mi = 0; mi < g->multiplier; ++mi) {
            long o = c * g->multiplier + mi;
            const float *wo = w + o * taps;
            float *dst = y + o * g->out_channel_stride + i0 * plane;
            __m512 b = _mm512_set1_ps(bias ? bias[o] : 0.0f);
            for (long col = 0; col < columns; col += LANES) {
                long n = columns - col;
                __mmask16 inside = n >= LANES ? 0xFFFF : (__mmask16)((1u << n) - 1);
                const __mmask16 *m = table + ((col % plane) / step) * taps;
                const float *s = src + col;
                __m512 acc = b;
                for (long t = 0; t < taps; ++t)
                    acc = _mm512_fmadd_ps(_mm512_set1_ps(wo[t]),
                                          _mm512_maskz_loadu_ps(m[t] & inside, s + offsets[t]), acc);
                _mm512_mask_storeu_ps(dst + col, inside, clamp(acc, lo, hi));
            }
        }
        q = c * g->batch + i1;
    }
    free(table);
    return 1;
}

/* Stride 2: one output row at a time, 16 output columns per vector from 32 input columns (the even
 * lanes of two masked loads). */
__attribute__((target("avx512f")))
static void run_stride_two(const float *x, const float *w, const float *bias, float *y, const s2dc_depthwise *g,
                           long first, long end)
{
    long kh = g->kernel_h, kw = g->kernel_w, taps = kh * kw;
    long chunks = (g->out_width + LANES - 1) / LANES;
    const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    /* Which of the 32 input columns under each chunk and kernel column lie inside the image. */
    unsigned long long valid[MAX_CHUNKS * MAX_KERNEL_W];
    for (long ch = 0; ch < chunks; ++ch) {
        long ox0 = ch * LANES, count = g->out_width - ox0 < LANES ? g->out_width - ox0 : LANES;
        for (long kx = 0; kx < kw; ++kx) {
            long start = 2 * ox0 - g->pad_left + kx;
            unsigned long long bits = 0;
            for (long j = 0; j < 2 * count; ++j)
                if (start + j >= 0 && start + j < g->width) bits |= 1ull << j;
            valid[ch * kw + kx] = bits;
        }
    }
    __m512 lo = _mm512_set1_ps(g->lo), hi = _mm512_set1_ps(g->hi);
    for (long q = first; q < end; ++q) {
        long i, c;
        plane_of(g, q, &i, &c);
        const float *src = x + i * g->in_image_stride + c * g->in_channel_stride;
        for (long mi = 0; mi < g->multiplier; ++mi) {
            long o = c * g->multiplier + mi;
            const float *wo = w + o * taps;
            float *dst = y + i * g->out_image_stride + o * g->out_channel_stride;
            __m512 b = _mm512_set1_ps(bias ? bias[o] : 0.0f);
            for (long oy = 0; oy < g->out_height; ++oy) {
                for (long ch = 0; ch < chunks; ++ch) {
                    long ox0 = ch * LANES, count = g->out_width - ox0 < LANES ? g->out_width - ox0 : LANES;
                    __m512 acc = b;
                    for (long ky = 0; ky < kh; ++ky) {
                        long iy = 2 * oy - g->pad_top + ky;
                        if (iy < 0 || iy >= g->height) continue;
                        const float *row = src + iy * g->width;
                        for (long kx = 0; kx < kw; ++kx) {
                            /* Input column of lane j (of 32) is 2*ox0 - pad_left + kx + j. */
                            long start = 2 * ox0 - g->pad_left + kx;
                            unsigned long long bits = valid[ch * kw + kx];
                            __m512 v0 = _mm512_maskz_loadu_ps((__mmask16)(bits & 0xFFFF), row + start);
                            __m512 v1 = _mm512_maskz_loadu_ps((__mmask16)(bits >> 16), row + start + LANES);
                            __m512 v = _mm512_permutex2var_ps(v0, even, v1);
                            acc = _mm512_fmadd_ps(_mm512_set1_ps(wo[ky * kw + kx]), v, acc);
                        }
                    }
                    _mm512_mask_storeu_ps(dst + oy * g->out_width + ox0, (__mmask16)((1u << count) - 1),
                                          clamp(acc, lo, hi));
                }
            }
        }
    }
}

void s2dc_depthwise_run(const float *x, const float *w, const float *bias, float *y, const s2dc_depthwise *g,
                        long first, long end)
{
    if (!s2dc_depthwise_supported(g)) return;
    if (!same_size(g)) {
        run_stride_two(x, w, bias, y, g, first, end);
        return;
    }
    long plane = g->height * g->width;
    int cnhw = g->in_image_stride == plane && g->out_image_stride == plane && g->in_channel_stride > plane;
    if (!cnhw || !run_flat(x, w, bias, y, g, first, end)) run_same(x, w, bias, y, g, first, end);
}


#else

int s2dc_depthwise_supported(const s2dc_depthwise *g)
{
    (void)g; (void)same_size; (void)stride_two; (void)plane_of;
    return 0;
}

void s2dc_depthwise_run(const float *x, const float *w, const float *bias, float *y, const s2dc_depthwise *g,
                        long first, long end)
{
    (void)x; (void)w; (void)bias; (void)y; (void)g; (void)first; (void)end;
}

#endif
