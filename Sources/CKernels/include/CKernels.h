/* CKernels: the interpreter's hand-vectorized convolution kernels (AVX-512, chosen at run time). */
#ifndef S2DC_CKERNELS_H
#define S2DC_CKERNELS_H

#include <stddef.h>

/* The shape of a stride-1 2-D convolution whose output planes are as large as its input planes,
 * over "columns": consecutive pixels of one or more images whose planes follow one another in
 * memory (CNHW data, or one NCHW image). Column f is pixel f mod (height*width) of its image.
 *
 * With phases = 2 it is a stride-2 convolution (no dilation) over input planes twice the output's
 * height and width, given split into their four phases: input channel c holds, at
 * (2a + b) * columns floats from its start, the plane of rows 2i + a and columns 2j + b, which
 * is as large as an output plane; height and width are the output's. Tap (ky, kx) then reads
 * phase ((ky - pad_top) mod 2, (kx - pad_left) mod 2) shifted by half the offset, rounded down. */
typedef struct {
    long channels;           /* input channels (the GEMM's K is channels*kernel_h*kernel_w) */
    long in_channel_stride;  /* floats between input channel planes */
    long out_channel_stride; /* floats between output channel planes */
    long height, width;      /* of every plane, input and output */
    long kernel_h, kernel_w;
    long pad_top, pad_left;
    long dilation_h, dilation_w;
    long columns;            /* columns in the tensors (images * height * width) */
    long phases;             /* 1, or 2 for a stride-2 convolution over phase-split input */
    float lo, hi;            /* the output is clamped to [lo, hi] after the bias (+-inf: not) */
} s2dc_same_conv;

/* 1 when this CPU runs s2dc_same_conv_run (AVX-512F); 0 otherwise. */
int s2dc_same_conv_available(void);

/* Rows of the packed weight panels. */
#define S2DC_CONV_PANEL_ROWS 8

/* Floats s2dc_pack_weights writes for m output channels and k = channels*taps. */
size_t s2dc_packed_weights_count(long m, long k);

/* Packs row-major weights [m][k] into panels of 8 rows, k-major within a panel (rows past m are 0). */
void s2dc_pack_weights(const float *w, long m, long k, float *packed);

/* y[o][f] = clamp((bias[o] + sum over c, ky, kx of w[o][c][ky][kx] * x[c][f shifted by the tap])
 * + residual[o][f]), taps outside the image reading 0, for output channels o < m and columns f
 * in [first, end). Each output is summed in the order c, ky, kx whatever the column range, so
 * splitting the columns between threads does not change the result. bias and residual (laid out
 * as y) may be NULL. */
void s2dc_same_conv_run(const float *x, const float *packed, const float *bias, const float *residual, float *y,
                        long m, const s2dc_same_conv *g, long first, long end);

/* Columns per chunk of s2dc_same_conv_weight_gradient. */
#define S2DC_WEIGHT_GRADIENT_CHUNK 1024

/* The weight gradient of the convolution s2dc_same_conv_run computes (bias, residual and clamp
 * aside): dw[o][c][ky][kx] += sum over columns f in [first, end) of dy[o][f] * (the input x[c]
 * reads at column f for that tap, 0 outside the image), for o < m; dy is laid out as that
 * convolution's output (out_channel_stride), x as its input. The columns go in fixed chunks
 * of S2DC_WEIGHT_GRADIENT_CHUNK, each chunk's sum added once. Needs AVX-512F (s2dc_same_conv_available). */
void s2dc_same_conv_weight_gradient(const float *x, const float *dy, float *dw, long m, const s2dc_same_conv *g,
                                    long first, long end);

/* A depthwise 2-D convolution (one input channel per group, `multiplier` outputs per channel) over
 * planes found through strides, so that NCHW and CNHW data both work. */
typedef struct {
    long batch, channels, multiplier;
    long in_image_stride, in_channel_stride, out_image_stride, out_channel_stride;
    long height, width, out_height, out_width;
    long kernel_h, kernel_w, stride_h, stride_w;
    long pad_top, pad_left, dilation_h, dilation_w;
    float lo, hi;            /* the output is clamped to [lo, hi] after the bias (+-inf: not) */
} s2dc_depthwise;

/* 1 when s2dc_depthwise_run handles this shape on this CPU (AVX-512F; stride 1 with output planes
 * as large as the input's, or stride 2 without dilation; at most 64 taps); 0 otherwise. */
int s2dc_depthwise_supported(const s2dc_depthwise *g);

/* Output planes [first, end) of the (image, input channel) pairs numbered in memory order
 * (channel*batch + image for CNHW input, image*channels + channel for NCHW):
 * y[i][c*multiplier + m] = clamp(bias + the taps of w[c*multiplier + m] over x[i][c]).
 * w is [channels*multiplier][kernel_h*kernel_w]; bias may be NULL. Each output is summed in
 * tap order whatever the range. */
void s2dc_depthwise_run(const float *x, const float *w, const float *bias, float *y, const s2dc_depthwise *g,
                        long first, long end);

#endif
