/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SIMGPU_VM_H_
#define _SIMGPU_VM_H_

#include <linux/kref.h>
#include <linux/mutex.h>
#include <linux/rbtree.h>
#include <linux/workqueue.h>
#include <drm/drm_gpuvm.h>

#include "gpusvm/simgpu_gpusvm.h"
#include "simgpu_engine.h"
#include "simgpu_madvise.h"
#include "simgpu_mem.h"
#include "simgpu_pt.h"

struct drm_device;
struct drm_file;
struct simgpu_bo;
struct simgpu_device;
struct simgpu_fault_timing;
struct simgpu_svm_kernel;

/**
 * struct simgpu_vm - a GPU virtual address space
 * @gpuvm: the GPU VAs: buffer-object mappings and CPU address mirrors
 *	(simgpu_vm.c); its reference count keeps the memory, the last
 *	&drm_gpuvm_put() frees the VM
 * @ref: references: the file's id, and every exec queue on the VM
 * @sdev: the device
 * @flags: DRM_SIMGPU_VM_CREATE_* given at creation
 * @lock: protects the VA tree of @gpuvm and updates of @pt
 * @pt: the page table the engines walk
 * @svm_active: the VM mirrors a process (after the first mirror MAP),
 *	through the SVM backend of the svm_core parameter (simgpu_svm.c)
 * @svm_pid: that process (lock)
 * @svm_mm: its address space (lock; compared, not referenced: the
 *	backend's notifiers keep it)
 * @svm: the simgpu backend's mirror (gpusvm/)
 * @svm_kernel: the kernel backend's mirror (drm_gpusvm,
 *	simgpu_svm_kernel.c)
 * @svm_gc_work: removes the ranges the CPU unmapped and resets the
 *	attributes of unmapped memory
 * @madv: interval tree of &struct simgpu_madvise_span (lock)
 * @madv_lock: protects @madv_gc and the unmaps recorded in the spans
 * @madv_gc: spans with unmapped memory to reset
 * @faults_retried: GPU faults of the VM's queues resolved, the job resumed
 * @faults_cancelled: GPU faults that ended their job with -EFAULT
 * @svm_pages_faulted: pages hmm_range_fault() returned for @svm's ranges
 */
struct simgpu_vm {
	struct drm_gpuvm gpuvm;
	struct kref ref;
	struct simgpu_device *sdev;
	u32 flags;
	struct mutex lock;
	struct simgpu_pt pt;
	bool svm_active;
	struct pid *svm_pid;
	struct mm_struct *svm_mm;
	struct simgpu_gpusvm svm;
	struct simgpu_svm_kernel *svm_kernel;
	struct work_struct svm_gc_work;
	struct rb_root_cached madv;
	spinlock_t madv_lock;
	struct list_head madv_gc;
	atomic64_t faults_retried;
	atomic64_t faults_cancelled;
	atomic64_t svm_pages_faulted;
};

/**
 * struct simgpu_vm_info - what a VM maps, for debugfs
 * @bo_mappings: mappings of buffer objects
 * @mirror_mappings: pieces of CPU address mirror
 * @ranges: SVM ranges per chunk size, in the order of the SVM chunk list
 *	(2 MiB, 64 KiB, 4 KiB)
 * @bo: pages the page table maps in the buffer-object mappings
 * @svm: pages it maps in the mirror pieces
 */
struct simgpu_vm_info {
	unsigned long bo_mappings;
	unsigned long mirror_mappings;
	unsigned long ranges[SIMGPU_GPUSVM_MAX_CHUNKS];
	struct simgpu_pt_mapped bo;
	struct simgpu_pt_mapped svm;
};

#define SIMGPU_VM_SET_MAX	8

/**
 * struct simgpu_vm_set - VMs locked together to move a buffer object
 * @vms: the VMs, each locked
 * @n: entries in @vms
 * @refs: each entry also holds a reference
 */
struct simgpu_vm_set {
	struct simgpu_vm *vms[SIMGPU_VM_SET_MAX];
	unsigned int n;
	bool refs;
};

int simgpu_vm_bo_lock_vms_locked(struct simgpu_bo *bo, struct simgpu_vm *held,
				 struct simgpu_vm_set *set);
int simgpu_vm_bo_lock_all(struct simgpu_bo *bo, struct simgpu_vm_set *set);
void simgpu_vm_set_unlock(struct simgpu_vm_set *set);
void simgpu_vm_bo_zap_locked(struct simgpu_bo *bo);

/* Driver bits of &drm_gpuva.flags. */
#define SIMGPU_VA_MIRROR	DRM_GPUVA_USERBITS		/* CPU mirror */
#define SIMGPU_VA_READONLY	(DRM_GPUVA_USERBITS << 1)	/* no writes */

/* The end of a VA, exclusive. */
static inline u64 simgpu_vm_gpuva_end(const struct drm_gpuva *va)
{
	return va->va.addr + va->va.range;
}

static inline bool simgpu_vm_fault_mode(const struct simgpu_vm *vm)
{
	return vm->flags & DRM_SIMGPU_VM_CREATE_FAULT_MODE;
}

struct simgpu_vm *simgpu_vm_lookup(struct drm_file *file, u32 id);
struct simgpu_vm *simgpu_vm_find_next(struct drm_file *file,
				      unsigned long *id);
void simgpu_vm_info_locked(struct simgpu_vm *vm, struct simgpu_vm_info *info);
void simgpu_vm_put(struct simgpu_vm *vm);
void simgpu_vm_invalidate_locked(struct simgpu_vm *vm, u64 start, u64 end);
void simgpu_vm_tlb_invalidate(struct simgpu_vm *vm, u64 start, u64 end);
bool simgpu_vm_mirror_bounds_locked(struct simgpu_vm *vm, u64 addr,
				    u64 *start, u64 *end);

int simgpu_vm_resolve_fault(struct simgpu_vm *vm, u64 addr,
			    enum simgpu_access access,
			    struct simgpu_fault_timing *t);
void simgpu_vm_file_fini(struct drm_file *file);

int simgpu_vm_create_ioctl(struct drm_device *drm, void *data,
			   struct drm_file *file);
int simgpu_vm_destroy_ioctl(struct drm_device *drm, void *data,
			    struct drm_file *file);
int simgpu_vm_query_range_ioctl(struct drm_device *drm, void *data,
				struct drm_file *file);

#endif /* _SIMGPU_VM_H_ */
