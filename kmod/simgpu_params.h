/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SIMGPU_PARAMS_H_
#define _SIMGPU_PARAMS_H_

#include <linux/types.h>

struct drm_simgpu_engine_info;
struct kernel_param;
struct simgpu_svm_backend;

#define SIMGPU_MAX_DEVICES	8

/**
 * struct simgpu_params - the shape of every simulated device
 * @num_devices: devices created at module load
 * @vram_mb: VRAM of each device, in MiB
 * @num_compute_engines: compute engines per device
 * @num_copy_engines: copy engines per device
 * @link_group: per device, the link group it belongs to (1 ..), 0 for
 *	none: the devices of a group share an interconnect
 * @svm: the SVM backend (the svm_core parameter): drm_gpusvm or
 *	simgpu's own core
 *
 * Filled from the module parameters once at load and read-only after.
 */
struct simgpu_params {
	unsigned int num_devices;
	unsigned int vram_mb;
	unsigned int num_compute_engines;
	unsigned int num_copy_engines;
	u8 link_group[SIMGPU_MAX_DEVICES];
	const struct simgpu_svm_backend *svm;
};

int simgpu_params_check(const struct simgpu_params *p);
int simgpu_params_check_timeslice(unsigned int ms);
int simgpu_params_check_job_timeout(unsigned int ms);
int simgpu_params_check_notifier_size(unsigned int mb);
int simgpu_params_set_uint(const char *val, const struct kernel_param *kp,
			   int (*check)(unsigned int val));
int simgpu_params_parse_link_groups(const char *s, unsigned int num_devices,
				    u8 *groups);
const struct simgpu_svm_backend *simgpu_params_svm_backend(const char *name);
unsigned int simgpu_params_num_engines(const struct simgpu_params *p);
int simgpu_params_engine_info(const struct simgpu_params *p, unsigned int idx,
			      struct drm_simgpu_engine_info *info);

#endif /* _SIMGPU_PARAMS_H_ */
