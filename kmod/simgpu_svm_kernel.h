/* SPDX-License-Identifier: GPL-2.0 */
/*
 * simgpu: the kernel SVM backend's types, shared by its files
 * (simgpu_svm_kernel.c, simgpu_svm_kernel_migrate.c), and their accessors.
 */
#ifndef _SIMGPU_SVM_KERNEL_H_
#define _SIMGPU_SVM_KERNEL_H_

#include <linux/list.h>
#include <linux/spinlock.h>
#include <linux/types.h>

#include <drm/drm_gpusvm.h>
#include <drm/drm_pagemap_util.h>

#include "simgpu_svm_backend.h"
#include "simgpu_vm.h"

struct drm_pagemap;
struct simgpu_device;

/**
 * struct simgpu_svm_kernel - a VM's mirror on drm_gpusvm
 * @gpusvm: the kernel's mirror
 * @vm: the VM
 * @gc_lock: protects @gc_list
 * @gc_list: ranges the CPU unmapped, for the garbage collector
 * @peer: the VM's place among the drm_pagemap owners: its owner is the
 *	device-private owner of the mirror (NULL without VRAM migration)
 * @dpagemap: the device's VRAM, referenced while the VM mirrors
 */
struct simgpu_svm_kernel {
	struct drm_gpusvm gpusvm;
	struct simgpu_vm *vm;
	spinlock_t gc_lock;
	struct list_head gc_list;
	struct drm_pagemap_peer peer;
	struct drm_pagemap *dpagemap;
};

/*
 * A range: drm_gpusvm's, this device's pages of it, and what the driver
 * keeps beside them. @write, @read_only and @excl change under the
 * notifier lock or the VM lock; @gc_link under gc_lock.
 */
struct ksvm_range {
	struct drm_gpusvm_range base;
	struct drm_gpusvm_pages pages;
	struct list_head gc_link;
	unsigned long *excl;
	unsigned int bounces;
	bool devmem_hint;
	bool counted;
	bool write;
	bool read_only;
	/* Where range_page() last was: it walks the entries in order. */
	unsigned long walk_page;
	unsigned long walk_entry;
};


static inline struct simgpu_svm_kernel *to_ksvm(struct drm_gpusvm *gpusvm)
{
	return container_of(gpusvm, struct simgpu_svm_kernel, gpusvm);
}

static inline struct ksvm_range *to_kr(struct drm_gpusvm_range *range)
{
	return container_of(range, struct ksvm_range, base);
}

static inline struct ksvm_range *kr(const struct simgpu_svm_range *r)
{
	return container_of((struct drm_gpusvm_range *)r, struct ksvm_range,
			    base);
}

static inline struct simgpu_svm_range *to_svm_range(struct ksvm_range *r)
{
	return (struct simgpu_svm_range *)&r->base;
}

static inline unsigned long kr_npages(struct ksvm_range *r)
{
	return drm_gpusvm_range_size(&r->base) >> PAGE_SHIFT;
}

static inline struct simgpu_svm_kernel *vm_ksvm(struct simgpu_vm *vm)
{
	return vm->svm_kernel;
}

#endif /* _SIMGPU_SVM_KERNEL_H_ */
