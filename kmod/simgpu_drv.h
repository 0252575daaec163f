/* SPDX-License-Identifier: GPL-2.0 */
/*
 * simgpu: driver-wide definitions shared by the module's files.
 */
#ifndef _SIMGPU_DRV_H_
#define _SIMGPU_DRV_H_

#include <linux/types.h>
#include <drm/drm_device.h>
#include <drm/simgpu_drm.h>

#define SIMGPU_DRIVER_NAME	"simgpu"
#define SIMGPU_VA_BITS		48

#define SIMGPU_MAX_DEVICES	8
#define SIMGPU_MAX_ENGINES	8	/* per class */
#define SIMGPU_MAX_VRAM_MB	4096

/*
 * Symbols that only the KUnit suite (simgpu_kunit.ko) needs are exported
 * into their own namespace, and only on kernels with KUnit.
 */
#if IS_ENABLED(CONFIG_KUNIT)
#define SIMGPU_EXPORT_FOR_KUNIT(sym) EXPORT_SYMBOL_NS_GPL(sym, SIMGPU_KUNIT)
#else
#define SIMGPU_EXPORT_FOR_KUNIT(sym)
#endif

/**
 * struct simgpu_params - the shape of every simulated device
 * @num_devices: devices created at module load
 * @vram_mb: VRAM of each device, in MiB
 * @num_compute_engines: compute engines per device
 * @num_copy_engines: copy engines per device
 *
 * Filled from the module parameters once at load and read-only after.
 */
struct simgpu_params {
	unsigned int num_devices;
	unsigned int vram_mb;
	unsigned int num_compute_engines;
	unsigned int num_copy_engines;
};

/**
 * struct simgpu_device - one simulated GPU
 * @drm: the DRM device; its lifetime is the lifetime of this structure
 * @id: index of the device, 0 .. num_devices - 1
 * @params: the module-wide device shape
 */
struct simgpu_device {
	struct drm_device drm;
	u32 id;
	const struct simgpu_params *params;
};

static inline struct simgpu_device *to_simgpu_device(struct drm_device *drm)
{
	return container_of(drm, struct simgpu_device, drm);
}

int simgpu_params_check(const struct simgpu_params *p);
unsigned int simgpu_num_engines(const struct simgpu_params *p);
int simgpu_engine_info(const struct simgpu_params *p, unsigned int idx,
		       struct drm_simgpu_engine_info *info);

extern const struct drm_driver simgpu_drm_driver;

int simgpu_device_driver_register(const struct simgpu_params *params);
void simgpu_device_driver_unregister(void);

int simgpu_query_ioctl(struct drm_device *drm, void *data,
		       struct drm_file *file);

#endif /* _SIMGPU_DRV_H_ */
