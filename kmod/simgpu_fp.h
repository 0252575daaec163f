/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SIMGPU_FP_H_
#define _SIMGPU_FP_H_

#include <linux/types.h>

void simgpu_fp_saxpy(u32 a, const u32 *x, u32 *y, unsigned int n);

#endif /* _SIMGPU_FP_H_ */
