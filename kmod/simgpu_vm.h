/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SIMGPU_VM_H_
#define _SIMGPU_VM_H_

#include <linux/kref.h>
#include <linux/mutex.h>
#include <linux/rbtree.h>
#include <linux/workqueue.h>

#include "gpusvm/simgpu_gpusvm.h"
#include "simgpu_engine.h"
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
 * @mappings: interval tree of &struct simgpu_mapping: buffer objects and
 *	CPU address mirrors
 * @svm_active: @svm mirrors a process (after the first mirror MAP)
 * @svm: the SVM core's mirror of that process
 * @svm_gc_work: removes the ranges the CPU unmapped
 */
struct simgpu_vm {
	struct kref ref;
	struct simgpu_device *sdev;
	u32 flags;
	struct mutex lock;
	struct simgpu_pt pt;
	struct rb_root_cached mappings;
	bool svm_active;
	struct simgpu_gpusvm svm;
	struct work_struct svm_gc_work;
};

static inline bool simgpu_vm_fault_mode(const struct simgpu_vm *vm)
{
	return vm->flags & DRM_SIMGPU_VM_CREATE_FAULT_MODE;
}

struct simgpu_vm *simgpu_vm_lookup(struct drm_file *file, u32 id);
void simgpu_vm_put(struct simgpu_vm *vm);
void simgpu_vm_invalidate_locked(struct simgpu_vm *vm, u64 start, u64 end);
void simgpu_vm_tlb_invalidate(struct simgpu_vm *vm, u64 start, u64 end);
bool simgpu_vm_mirror_bounds_locked(struct simgpu_vm *vm, u64 addr,
				    u64 *start, u64 *end);

int simgpu_svm_activate_locked(struct simgpu_vm *vm);
void simgpu_svm_fini(struct simgpu_vm *vm);
void simgpu_svm_gc_work(struct work_struct *work);
int simgpu_svm_fault_locked(struct simgpu_vm *vm, u64 addr,
			    enum simgpu_access access);
int simgpu_vm_resolve_fault(struct simgpu_vm *vm, u64 addr,
			    enum simgpu_access access);
void simgpu_file_vms_fini(struct drm_file *file);

int simgpu_vm_create_ioctl(struct drm_device *drm, void *data,
			   struct drm_file *file);
int simgpu_vm_destroy_ioctl(struct drm_device *drm, void *data,
			    struct drm_file *file);
int simgpu_vm_bind_ioctl(struct drm_device *drm, void *data,
			 struct drm_file *file);
int simgpu_vm_query_range_ioctl(struct drm_device *drm, void *data,
				struct drm_file *file);

#endif /* _SIMGPU_VM_H_ */
