// SPDX-License-Identifier: GPL-2.0
/*
 * simgpu: the floating-point part of the built-in kernels.
 *
 * This file alone is built with SSE enabled (see Kbuild), so the compiler
 * may use SSE registers anywhere in it: call its functions only between
 * kernel_fpu_begin() and kernel_fpu_end().
 */

#include <linux/string.h>
#include <linux/types.h>

#include "simgpu_fp.h"

/**
 * simgpu_fp_saxpy() - y[i] = a * x[i] + y[i] in IEEE binary32
 * @a: the bits of a
 * @x: the bits of x, @n entries
 * @y: the bits of y, @n entries, updated
 * @n: elements
 */
void simgpu_fp_saxpy(u32 a, const u32 *x, u32 *y, unsigned int n)
{
	float fa, fx, fy;
	unsigned int i;

	memcpy(&fa, &a, sizeof(fa));
	for (i = 0; i < n; i++) {
		memcpy(&fx, &x[i], sizeof(fx));
		memcpy(&fy, &y[i], sizeof(fy));
		fy = fa * fx + fy;
		memcpy(&y[i], &fy, sizeof(fy));
	}
}
