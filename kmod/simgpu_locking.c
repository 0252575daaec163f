// SPDX-License-Identifier: GPL-2.0
/*
 * simgpu: the driver's lock order, in one place, and lockdep taught it.
 */

#include <linux/dma-resv.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/sched.h>

#include <drm/drm_device.h>

#include "simgpu_drv.h"
#include "simgpu_engine.h"
#include "simgpu_locking.h"

/**
 * DOC: Overview
 *
 * The lock order of the whole driver is written down once, below, and
 * taught to lockdep at probe (simgpu_locking_prime(), like the kernel's
 * dma_resv_lockdep()), so that an inversion anywhere is reported on the
 * first run that takes the other order, whether or not the two paths ever
 * race in a test.
 */

/**
 * DOC: Locking
 *
 * Every lock of the driver, outermost first. A lock may be taken while
 * holding only locks above it; the DOC: Locking of each file says what its
 * locks protect and refers here for the order. Nothing allocates while a
 * spinlock is held, and nothing below the MMU notifier's locks allocates
 * with reclaim. docs/design.md ("Locking") has the same table.
 *
 * 1.  &simgpu_exec_queue.submit_lock (mutex): orders EXEC arm/push on a
 *     queue against its destroy; may wait for in-fences.
 * 2.  &drm_device.filelist_mutex (DRM's): the debugfs simgpu_vms file
 *     walks the files' VMs under it and takes each VM's lock.
 * 3.  &simgpu_vm.lock (mutex): a VM's drm_gpuvm VA tree and page-table
 *     updates, and the driver lock of either SVM core (ranges, notifier
 *     windows). Binds, the GPU fault worker and the SVM garbage collector
 *     hold it; the MMU notifier never takes it. A BO allocation that evicts
 *     takes several, in address order, one lockdep subclass each; a move
 *     from a fault takes the others by trylock only.
 * 4.  The drm_pagemap cache's lookup mutex (svm_core=kernel): a device's
 *     VRAM pagemap is found or made under it, under vm->lock and never
 *     under the mmap_lock (memremap_pages() takes the memory hotplug
 *     lock).
 * 5.  mmap_lock (read): taken by the SVM cores around hmm_range_fault()
 *     and migrations, and by MADVISE.
 * 6.  BO reservations (&dma_resv of each GEM object, ww class), and the
 *     VM's reservation object: an object's placement, storage and
 *     &drm_gpuvm_bo list. A bind takes the ones it needs with drm_exec
 *     (one ww acquire context) under vm->lock and never around the
 *     mmap_lock; everything else takes one at a time. The kernel's own
 *     order is mmap_lock -> reservation (dma_resv_lockdep()).
 * 7.  The SVM core's notifier lock (rw_semaphore; &simgpu_gpusvm's or
 *     &drm_gpusvm's): written in the MMU notifier, maybe from reclaim (the
 *     cores prime it against fs_reclaim), read to commit PTEs; nothing
 *     allocates under it.
 * 8.  &simgpu_device.sched_pool_lock (mutex): pooled schedulers; a leaf.
 * 9.  &simgpu_vram.lock (mutex): the buddy allocator; allocates; a leaf.
 * 10.  Spinlock leaves: &simgpu_device.bo_lru_lock (VRAM objects' LRU),
 *     &simgpu_dmem.lru_lock (SVM chunks' LRU), &simgpu_vm.madv_lock
 *     (recorded unmaps of attribute spans; the only lock the attribute
 *     notifiers take), the SVM cores' collector locks (under the notifier
 *     lock), &simgpu_device.fault_lock (the fault list),
 *     &simgpu_exec_queue.fence_lock.
 * 11. &simgpu_engine.lock (spinlock): queues, jobs, run state; under
 *     submit_lock, and by the fault worker.
 * 12. &simgpu_engine.tlb_lock (spinlock): the TLB, held across each
 *     translation and access of the engine thread; innermost.
 *
 * simgpu_locking_prime() takes 2 -> 3 -> 5 -> 6 -> 9, 10 and 12 once per
 * device at probe, so lockdep reports an inversion of them even if no test
 * happens to take the two locks in the bad order.
 */

/**
 * simgpu_locking_vm_init() - initialise a VM lock
 * @lock: &simgpu_vm.lock
 *
 * The one place VM locks are initialised, so they share one lockdep
 * class with the one simgpu_locking_prime() takes.
 */
void simgpu_locking_vm_init(struct mutex *lock)
{
	mutex_init(lock);
}

#if IS_ENABLED(CONFIG_LOCKDEP)
/**
 * simgpu_locking_prime() - teach lockdep the driver's lock order
 * @sdev: a device being probed, its VRAM, engines and VRAM migration set
 *	up, not yet registered
 *
 * Takes the chain of DOC: Locking once: the device's own locks (no one
 * else can take them yet), a VM lock and a reservation made for it, and
 * the mmap_lock of the loading process (probe runs in it, holding none
 * of its locks); without one (a probe from a kernel thread) nothing.
 */
void simgpu_locking_prime(struct simgpu_device *sdev)
{
	struct mm_struct *mm = current->mm;
	struct ww_acquire_ctx ctx;
	struct dma_resv resv;
	struct mutex vm_lock;

	if (!mm)
		return;
	simgpu_locking_vm_init(&vm_lock);
	dma_resv_init(&resv);

	mutex_lock(&sdev->drm.filelist_mutex);
	mutex_lock(&vm_lock);
	mmap_read_lock(mm);
	ww_acquire_init(&ctx, &reservation_ww_class);
	if (!dma_resv_lock(&resv, &ctx)) {
		mutex_lock(&sdev->vram.lock);
		mutex_unlock(&sdev->vram.lock);
		spin_lock(&sdev->bo_lru_lock);
		spin_unlock(&sdev->bo_lru_lock);
		spin_lock(&sdev->engines[0].tlb_lock);
		spin_unlock(&sdev->engines[0].tlb_lock);
		dma_resv_unlock(&resv);
	}
	ww_acquire_fini(&ctx);
	if (sdev->dmem.enabled) {
		spin_lock(&sdev->dmem.lru_lock);
		spin_unlock(&sdev->dmem.lru_lock);
	}
	mmap_read_unlock(mm);
	mutex_unlock(&vm_lock);
	mutex_unlock(&sdev->drm.filelist_mutex);

	dma_resv_fini(&resv);
	mutex_destroy(&vm_lock);
}
#endif
