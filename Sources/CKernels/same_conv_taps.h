/* same_conv_taps: where each tap of an s2dc_same_conv reads its input (shared by the forward and weight-gradient kernels). */
#ifndef S2DC_SAME_CONV_TAPS_H
#define S2DC_SAME_CONV_TAPS_H

#include "CKernels.h"

/* For tap t = ky * kernel_w + kx: offsets[t], the input column offset it reads at (for phases = 2,
 * into the tap's phase), and dys[t], dxs[t], its row and column shift within a plane. */
void s2dc_same_conv_taps(const s2dc_same_conv *g, long *offsets, long *dys, long *dxs);

#endif
