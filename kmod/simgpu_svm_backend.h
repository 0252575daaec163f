/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SIMGPU_SVM_BACKEND_H_
#define _SIMGPU_SVM_BACKEND_H_

#include <linux/types.h>

struct mm_struct;
struct simgpu_device;
struct simgpu_vm;

/**
 * DOC: SVM backends
 *
 * The driver's SVM (simgpu_svm.c: the fault and prefetch paths, the
 * placement policy, the PTEs) is written once, against the operations of
 * &struct simgpu_svm_backend. Two cores implement them, chosen at load
 * with the svm_core parameter:
 *
 * - ``kernel`` (simgpu_svm_kernel.c): the kernel's drm_gpusvm, where the
 *   kernel has CONFIG_DRM_GPUSVM;
 * - ``simgpu`` (simgpu_svm_simgpu.c): simgpu's own core in kmod/gpusvm/,
 *   the only one on kernels without drm_gpusvm, and the reference the
 *   kernel's is compared with (the differential run of scripts/test.sh).
 *
 * Both have the same shape: a range around a faulting address, its pages
 * collected with hmm_range_fault() under an MMU interval notifier, their
 * validity checked under the core's notifier lock when the PTEs are
 * written, ranges the CPU unmapped removed by a garbage collector under
 * the VM lock. A range is opaque to the driver: it asks the backend for
 * its bounds and, page by page, for where the page is
 * (&struct simgpu_svm_page).
 */

/* A backend's range, opaque to the driver. */
struct simgpu_svm_range;

/**
 * struct simgpu_svm_page - a collected page of a range, as a PTE needs it
 * @addr: the system memory address (DMA address), or the offset in the
 *	VRAM of @vram
 * @vram: NULL for system memory; else the device whose VRAM holds the page
 * @write: the CPU mapping lets the GPU write it
 * @exclusive: held exclusive for the device (GPU atomics in place)
 * @order: the order of the CPU mapping the page is part of (9: a THP
 *	mapped by a PMD)
 */
struct simgpu_svm_page {
	u64 addr;
	struct simgpu_device *vram;
	bool write;
	bool exclusive;
	unsigned int order;
};

/**
 * struct simgpu_svm_ctx - the driver's policy for one backend call
 * @timeslice: jiffies a page held exclusive stays the device's before the
 *	CPU or another device takes it back, and a migration that finds
 *	pages another holder keeps waits for them
 * @hold: jiffies VRAM a migration fills stays the device's before a CPU
 *	fault takes it back: 0 unless the range is thrashing (see
 *	svm_migrate_range())
 * @write: fault pages in for writing (where the CPU mapping allows)
 * @device_folios: migrate an aligned 2 MiB range as one compound device
 *	folio where the CPU maps it with a PMD or not at all
 * @device_pages: move pages in another device's VRAM too (device to
 *	device over a link) instead of mapping them in place
 * @force: a migration may evict any VRAM (an explicit request, not a
 *	fault)
 */
struct simgpu_svm_ctx {
	unsigned long timeslice;
	unsigned long hold;
	bool write;
	bool device_folios;
	bool device_pages;
	bool force;
};

/**
 * struct simgpu_svm_backend - the operations of an SVM core
 * @name: "kernel" or "simgpu", as the svm_core parameter names it
 * @atomic_hold: the core holds system pages exclusive without VRAM
 *	(@range_make_exclusive works whether or not VRAM migration is on)
 * @devmem_init: make a device's VRAM device-private memory the core
 *	migrates to (at probe); NULL where the kernel cannot
 * @devmem_unplug: the device is about to be unplugged, then evicted
 *	(simgpu_dmem_unplug()); optional
 * @init: start mirroring @mm in @vm (vm->lock held)
 * @fini: stop mirroring and free every range (vm->lock held)
 * @garbage_collect: remove the ranges the CPU unmapped (vm->lock held)
 * @remove_ranges: remove every range overlapping [@start, @end), their
 *	PTEs zapped and flushed (vm->lock held)
 * @count_ranges: add the number of ranges of each chunk size to @counts
 * @range_find_or_insert: the range around @addr inside [@lo, @hi); an
 *	ERR_PTR: -EFAULT when @addr is not mapped by the process
 * @range_remove: remove @r, its PTEs zapped and flushed
 * @range_start: the first address of @r
 * @range_end: the end of @r
 * @range_read_only: the CPU mapping of @r does not allow writes
 * @range_cpu_bounces: how often the CPU took @r back from VRAM
 * @range_get_pages: collect the pages of @r; for writing where the CPU
 *	mapping allows when @ctx->write. -ERANGE: @r is no longer in one VMA (remove
 *	it, insert again); -EPERM, -EFAULT: not accessible; -ETIME: kept
 *	being invalidated; -ENOMEM
 * @range_migrate_to_devmem: move @r into @target's VRAM; the pages moved,
 *	or a negative errno (-ERANGE as for @range_get_pages). A range all in
 *	this device's or a linked device's VRAM stays, and so costs no
 *	invalidation of the devices that map it in place (0), unless
 *	@ctx->device_pages
 * @range_migrate_to_ram: move @r's VRAM pages to system memory
 * @range_make_exclusive: hold the page at @addr exclusive for the device;
 *	1 when taken, 0 when already held, -EOPNOTSUPP for memory that
 *	cannot be held (file, shared), -EBUSY
 * @range_page: page @i of @r, collected by @range_get_pages
 * @notifier_lock: take the core's notifier lock for reading (commit)
 * @notifier_unlock: drop it
 * @range_pages_valid_locked: no invalidation hit @r since its pages were
 *	collected and @r is still mapped (notifier lock held)
 * @range_set_mapped_locked: the PTEs of @r are written (notifier lock
 *	held)
 */
struct simgpu_svm_backend {
	const char *name;
	bool atomic_hold;
	int (*devmem_init)(struct simgpu_device *sdev);
	void (*devmem_unplug)(struct simgpu_device *sdev);
	int (*init)(struct simgpu_vm *vm, struct mm_struct *mm);
	void (*fini)(struct simgpu_vm *vm);
	void (*garbage_collect)(struct simgpu_vm *vm);
	void (*remove_ranges)(struct simgpu_vm *vm, u64 start, u64 end);
	void (*count_ranges)(struct simgpu_vm *vm, unsigned long *counts);
	struct simgpu_svm_range *(*range_find_or_insert)(struct simgpu_vm *vm,
							 u64 addr, u64 lo,
							 u64 hi);
	void (*range_remove)(struct simgpu_vm *vm, struct simgpu_svm_range *r);
	u64 (*range_start)(const struct simgpu_svm_range *r);
	u64 (*range_end)(const struct simgpu_svm_range *r);
	bool (*range_read_only)(const struct simgpu_svm_range *r);
	unsigned int (*range_cpu_bounces)(const struct simgpu_svm_range *r);
	int (*range_get_pages)(struct simgpu_vm *vm, struct simgpu_svm_range *r,
			       const struct simgpu_svm_ctx *ctx);
	long (*range_migrate_to_devmem)(struct simgpu_vm *vm,
					struct simgpu_svm_range *r,
					struct simgpu_device *target,
					const struct simgpu_svm_ctx *ctx);
	long (*range_migrate_to_ram)(struct simgpu_vm *vm,
				     struct simgpu_svm_range *r);
	int (*range_make_exclusive)(struct simgpu_vm *vm,
				    struct simgpu_svm_range *r, u64 addr,
				    const struct simgpu_svm_ctx *ctx);
	void (*range_page)(struct simgpu_vm *vm, struct simgpu_svm_range *r,
			   unsigned long i, struct simgpu_svm_page *page);
	void (*notifier_lock)(struct simgpu_vm *vm);
	void (*notifier_unlock)(struct simgpu_vm *vm);
	bool (*range_pages_valid_locked)(struct simgpu_vm *vm,
					 struct simgpu_svm_range *r);
	void (*range_set_mapped_locked)(struct simgpu_vm *vm,
					struct simgpu_svm_range *r);
};

extern const struct simgpu_svm_backend simgpu_svm_backend_simgpu;
extern const struct simgpu_svm_backend simgpu_svm_backend_kernel;

#endif /* _SIMGPU_SVM_BACKEND_H_ */
