/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SIMGPU_KERNELS_H_
#define _SIMGPU_KERNELS_H_

#include <linux/ktime.h>
#include <linux/types.h>

#include "simgpu_isa.h"

struct simgpu_ctx;
struct simgpu_job;

enum simgpu_cmd_status simgpu_kernels_launch(struct simgpu_job *job,
					     struct simgpu_ctx *ctx,
					     const struct simgpu_cmd *cmd,
					     ktime_t slice_end);

#endif /* _SIMGPU_KERNELS_H_ */
