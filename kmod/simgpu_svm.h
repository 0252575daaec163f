/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SIMGPU_SVM_H_
#define _SIMGPU_SVM_H_

#include <linux/atomic.h>
#include <linux/sizes.h>
#include <linux/types.h>

#include "simgpu_mem.h"

/*
 * Range sizes of the driver's mirrors, largest first, the same for both
 * SVM backends (each core takes them in its own integer type).
 */
#define SIMGPU_SVM_CHUNKS	{ SZ_2M, SZ_64K, SZ_4K }
#define SIMGPU_SVM_NUM_CHUNKS	3

/**
 * struct simgpu_svm_stats - SVM counters of a device, shown in debugfs
 * @ranges_created: ranges created, all sizes
 * @ranges_removed: ranges removed
 * @ranges_by_chunk: ranges created per chunk size (2 MiB, 64 KiB, 4 KiB)
 * @pages_faulted: pages hmm_range_fault() returned for ranges
 * @invalidations: notifier invalidations that hit at least one range
 * @to_devmem_pages: pages migrated to this device's VRAM
 * @to_devmem_by_chunk: chunks migrated to its VRAM, per chunk size
 * @to_devmem_folios: 2 MiB ranges migrated to its VRAM as one compound
 *	device folio
 * @to_ram_pages: pages of its VRAM migrated back to system memory
 * @to_ram_chunks: migrations back (CPU faults, prefetches) that moved pages
 * @to_ram_folios: compound device folios migrated back whole, into a
 *	huge page
 * @evictions: VRAM chunks evicted
 * @evicted_pages: pages those evictions moved to system memory
 * @migrate_fallbacks: migrations to VRAM, from this device's VMs, that
 *	found no memory
 * @exclusive_pages: pages this device's VMs took exclusive for atomics
 * @migrate_busy_waits: migrations to VRAM, from this device's VMs, that
 *	found pages another holder kept and waited a timeslice (kernel core;
 *	the simgpu core collects the pages where they are at once)
 * @thrash_holds: migrations to VRAM, from this device's VMs, of a range
 *	the CPU had taken back before, which keep the VRAM for a timeslice
 *
 * The SVM core counts nothing: it reports ranges, invalidations and
 * migrations through its callbacks and return values, and simgpu_svm.c
 * and simgpu_dmem.c count them here.
 */
struct simgpu_svm_stats {
	atomic64_t ranges_created;
	atomic64_t ranges_removed;
	atomic64_t ranges_by_chunk[SIMGPU_SVM_NUM_CHUNKS];
	atomic64_t pages_faulted;
	atomic64_t invalidations;
	atomic64_t to_devmem_pages;
	atomic64_t to_devmem_by_chunk[SIMGPU_SVM_NUM_CHUNKS];
	atomic64_t to_devmem_folios;
	atomic64_t to_ram_pages;
	atomic64_t to_ram_chunks;
	atomic64_t to_ram_folios;
	atomic64_t evictions;
	atomic64_t evicted_pages;
	atomic64_t migrate_fallbacks;
	atomic64_t exclusive_pages;
	atomic64_t thrash_holds;
	atomic64_t migrate_busy_waits;
};

struct simgpu_device;
struct simgpu_fault_timing;
struct simgpu_vm;
struct work_struct;

extern const u64 simgpu_svm_chunk_sizes[SIMGPU_SVM_NUM_CHUNKS];
int simgpu_svm_activate_locked(struct simgpu_vm *vm);
void simgpu_svm_fini(struct simgpu_vm *vm);
void simgpu_svm_gc_work(struct work_struct *work);
int simgpu_svm_fault_locked(struct simgpu_vm *vm, u64 addr,
			    enum simgpu_access access,
			    struct simgpu_fault_timing *t);
int simgpu_svm_prefetch_locked(struct simgpu_vm *vm, u64 start, u64 end,
			       u32 region);
unsigned int simgpu_svm_chunk_index(u64 size);
unsigned long simgpu_svm_evict_age(void);
bool simgpu_svm_atomic_hold(struct simgpu_device *sdev);
u64 simgpu_svm_notifier_size(void);
void simgpu_svm_remove_ranges_locked(struct simgpu_vm *vm, u64 start, u64 end);
void simgpu_svm_count_ranges_locked(struct simgpu_vm *vm,
				    unsigned long *counts);

#endif /* _SIMGPU_SVM_H_ */
