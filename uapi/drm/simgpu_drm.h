/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * simgpu: a simulated GPU with shared virtual memory.
 *
 * This header is the whole contract between the simgpu kernel module and
 * userspace. Rules every ioctl follows:
 *
 * - Structures use fixed-width fields only, pointers are passed as __u64,
 *   every structure is padded explicitly to a multiple of 8 bytes and
 *   starts with an @extensions field that must be 0 for now.
 * - Any flag, pad or reserved field that is not 0, and any value the
 *   kernel does not know, is rejected with -EINVAL. New fields are added
 *   only by giving meaning to a reserved field or through extensions.
 * - Each ioctl lists the errno values it returns. Besides those, every
 *   ioctl can return -EFAULT when a user pointer cannot be read or written.
 */
#ifndef _UAPI_SIMGPU_DRM_H_
#define _UAPI_SIMGPU_DRM_H_

#include "drm.h"

#if defined(__cplusplus)
extern "C" {
#endif

#define DRM_SIMGPU_QUERY		0x00

#define DRM_IOCTL_SIMGPU_QUERY \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_SIMGPU_QUERY, struct drm_simgpu_query)

/**
 * enum drm_simgpu_engine_class - kinds of engine a device has
 * @DRM_SIMGPU_ENGINE_CLASS_COMPUTE: runs command buffers and compute kernels
 * @DRM_SIMGPU_ENGINE_CLASS_COPY: bulk copies; also used by the kernel for
 *	migration
 */
enum drm_simgpu_engine_class {
	DRM_SIMGPU_ENGINE_CLASS_COMPUTE = 0,
	DRM_SIMGPU_ENGINE_CLASS_COPY = 1,
};

/*
 * Capability bits of &drm_simgpu_query_device.caps. A bit is set only when
 * the loaded module supports the feature on the running kernel.
 *
 * DRM_SIMGPU_CAP_FAULT_MODE: VMs can be created in fault mode, where a GPU
 *	page fault is serviced instead of ending the job.
 * DRM_SIMGPU_CAP_CPU_ADDR_MIRROR: a fault-mode VM can mirror the CPU
 *	address space of the process (shared virtual memory).
 * DRM_SIMGPU_CAP_VRAM_MIGRATION: mirrored memory can migrate to VRAM; needs
 *	a kernel with CONFIG_DEVICE_PRIVATE.
 */
#define DRM_SIMGPU_CAP_FAULT_MODE		(1ULL << 0)
#define DRM_SIMGPU_CAP_CPU_ADDR_MIRROR		(1ULL << 1)
#define DRM_SIMGPU_CAP_VRAM_MIGRATION		(1ULL << 2)

/**
 * struct drm_simgpu_query_device - answer of %DRM_SIMGPU_QUERY_DEVICE
 * @device_id: index of the simulated device, 0 .. num_devices - 1
 * @num_engines: number of engines, all classes together
 * @vram_size: bytes of device memory
 * @caps: DRM_SIMGPU_CAP_* bits
 * @va_bits: width of a GPU virtual address
 * @pad: 0
 * @reserved: 0
 */
struct drm_simgpu_query_device {
	__u32 device_id;
	__u32 num_engines;
	__u64 vram_size;
	__u64 caps;
	__u32 va_bits;
	__u32 pad;
	__u64 reserved[4];
};

/**
 * struct drm_simgpu_engine_info - one engine
 * @engine_class: enum drm_simgpu_engine_class
 * @instance: index within its class
 * @pad: 0
 * @reserved: 0
 */
struct drm_simgpu_engine_info {
	__u16 engine_class;
	__u16 instance;
	__u32 pad;
	__u64 reserved;
};

/**
 * struct drm_simgpu_query_engines - answer of %DRM_SIMGPU_QUERY_ENGINES
 * @num_engines: number of entries in @engines
 * @pad: 0
 * @engines: one entry per engine
 */
struct drm_simgpu_query_engines {
	__u32 num_engines;
	__u32 pad;
	struct drm_simgpu_engine_info engines[];
};

#define DRM_SIMGPU_QUERY_DEVICE		0
#define DRM_SIMGPU_QUERY_ENGINES	1

/**
 * struct drm_simgpu_query - argument of %DRM_IOCTL_SIMGPU_QUERY
 * @extensions: 0
 * @query: DRM_SIMGPU_QUERY_*
 * @flags: 0; no flag is defined yet
 * @data: user pointer to the answer buffer, ignored when @size is 0
 * @size: in: bytes at @data; out: bytes the answer needs. Call with 0 to
 *	learn the size, then again with a buffer of at least that size.
 * @pad: 0
 * @reserved: 0
 *
 * Returns 0 on success, and:
 *
 * -EINVAL: @extensions, @flags, @pad or @reserved not 0, @query unknown,
 *	or @size not 0 and smaller than the answer.
 *
 * -EFAULT: @data cannot be written.
 *
 * -ENOMEM: the kernel could not allocate the answer.
 *
 * -ENODEV: the device was removed (the module unloaded or the device
 *	unbound) while this file was open.
 */
struct drm_simgpu_query {
	__u64 extensions;
	__u32 query;
	__u32 flags;
	__u64 data;
	__u32 size;
	__u32 pad;
	__u64 reserved[2];
};

#if defined(__cplusplus)
}
#endif

#endif /* _UAPI_SIMGPU_DRM_H_ */
