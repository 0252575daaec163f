/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SIMGPU_VM_H_
#define _SIMGPU_VM_H_

#include <linux/kref.h>
#include <linux/mutex.h>
#include <linux/rbtree.h>

#include "simgpu_pt.h"

struct drm_device;
struct drm_file;
struct simgpu_device;

/**
 * struct simgpu_vm - a GPU virtual address space
 * @ref: references: the file's id, and every exec queue on the VM
 * @sdev: the device
 * @flags: DRM_SIMGPU_VM_CREATE_* given at creation
 * @lock: protects @mappings and updates of @pt
 * @pt: the page table the engines walk
 * @mappings: interval tree of &struct simgpu_mapping
 */
struct simgpu_vm {
	struct kref ref;
	struct simgpu_device *sdev;
	u32 flags;
	struct mutex lock;
	struct simgpu_pt pt;
	struct rb_root_cached mappings;
};

static inline bool simgpu_vm_fault_mode(const struct simgpu_vm *vm)
{
	return vm->flags & DRM_SIMGPU_VM_CREATE_FAULT_MODE;
}

struct simgpu_vm *simgpu_vm_lookup(struct drm_file *file, u32 id);
void simgpu_vm_put(struct simgpu_vm *vm);
void simgpu_vm_invalidate_locked(struct simgpu_vm *vm, u64 start, u64 end);
void simgpu_file_vms_fini(struct drm_file *file);

int simgpu_vm_create_ioctl(struct drm_device *drm, void *data,
			   struct drm_file *file);
int simgpu_vm_destroy_ioctl(struct drm_device *drm, void *data,
			    struct drm_file *file);
int simgpu_vm_bind_ioctl(struct drm_device *drm, void *data,
			 struct drm_file *file);

#endif /* _SIMGPU_VM_H_ */
