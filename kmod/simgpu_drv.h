/* SPDX-License-Identifier: GPL-2.0 */
/*
 * simgpu: driver-wide definitions shared by the module's files.
 */
#ifndef _SIMGPU_DRV_H_
#define _SIMGPU_DRV_H_

#include <linux/atomic.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>
#include <drm/drm_device.h>
#include <drm/simgpu_drm.h>

#include "simgpu_compat.h"

#include "simgpu_dmem.h"
#include "simgpu_fault.h"
#include "simgpu_params.h"
#include "simgpu_svm.h"
#include "simgpu_vram.h"

struct simgpu_engine;
struct simgpu_svm_backend;

#define SIMGPU_DRIVER_NAME	"simgpu"
#define SIMGPU_VA_BITS		48
#define SIMGPU_VA_END		(1ULL << SIMGPU_VA_BITS)

/*
 * Whether a reserved array of an ioctl argument is all zero (a non-zero
 * one fails the ioctl with -EINVAL).
 */
#define simgpu_reserved_clear(r)	(!memchr_inv((r), 0, sizeof(r)))

/* Whether [@start, @end) is a non-empty range of the GPU address space. */
static inline bool simgpu_va_span_ok(u64 start, u64 end)
{
	return start < end && end <= SIMGPU_VA_END;
}

/*
 * Whether @range bytes from @addr are a non-empty range of the GPU address
 * space, checked without overflow (as ioctls give them).
 */
static inline bool simgpu_va_range_ok(u64 addr, u64 range)
{
	return range && addr < SIMGPU_VA_END && range <= SIMGPU_VA_END - addr;
}

#define SIMGPU_MAX_ENGINES	8	/* per class */
#define SIMGPU_MAX_VRAM_MB	4096

/*
 * Limits of the module parameters read while devices run (their set
 * callbacks refuse anything else with -EINVAL, at load and on writes to
 * sysfs). svm_timeslice_ms bounds how long a CPU fault waits for the GPU;
 * notifier_size windows hold the largest SVM chunk, 2 MiB.
 */
#define SIMGPU_MAX_TIMESLICE_MS		1000
#define SIMGPU_MIN_JOB_TIMEOUT_MS	1
#define SIMGPU_MAX_JOB_TIMEOUT_MS	600000
#define SIMGPU_MIN_NOTIFIER_MB		2
#define SIMGPU_MAX_NOTIFIER_MB		4096

/*
 * Symbols that only the KUnit suite (simgpu_kunit.ko) needs are exported
 * into their own namespace, and only on kernels with KUnit.
 */
#if IS_ENABLED(CONFIG_KUNIT)
#define SIMGPU_EXPORT_FOR_KUNIT(sym) EXPORT_SYMBOL_NS_GPL(sym, SIMGPU_KUNIT_NS)
#else
#define SIMGPU_EXPORT_FOR_KUNIT(sym)
#endif

/**
 * struct simgpu_stats - device counters, shown in debugfs
 * @faults: GPU page faults raised by the engines
 * @faults_retried: faults resolved, the job resumed
 * @faults_cancelled: faults that ended their job with -EFAULT
 * @fatal_misses: translation misses in VMs without fault mode
 * @tlb_invalidations: range invalidations sent to the engines
 * @jobs_completed: jobs that ended successfully
 * @jobs_failed: jobs that ended with an error
 * @vms: VMs alive
 * @exec_queues: exec queues alive
 * @bo_evictions: buffer objects evicted from VRAM to system memory
 * @bo_evicted_bytes: their bytes
 * @bo_restores: evicted buffer objects that went back to VRAM
 * @fault_ns: nanoseconds the faults served so far (retried or cancelled)
 *	spent in each stage (&enum simgpu_fault_stage)
 */
struct simgpu_stats {
	atomic64_t faults;
	atomic64_t faults_retried;
	atomic64_t faults_cancelled;
	atomic64_t fatal_misses;
	atomic64_t tlb_invalidations;
	atomic64_t jobs_completed;
	atomic64_t jobs_failed;
	atomic64_t vms;
	atomic64_t exec_queues;
	atomic64_t bo_evictions;
	atomic64_t bo_evicted_bytes;
	atomic64_t bo_restores;
	atomic64_t fault_ns[SIMGPU_FAULT_STAGES];
};

/**
 * struct simgpu_device - one simulated GPU
 * @drm: the DRM device; its lifetime is the lifetime of this structure
 * @id: index of the device, 0 .. num_devices - 1
 * @params: the module-wide device shape
 * @vram: the device memory
 * @dmem: the device memory as device-private pages, for SVM
 * @engines: compute engines first, then copy engines
 * @num_engines: entries in @engines
 * @fault_lock: protects @faults
 * @faults: exec queues stalled on a GPU page fault, oldest first
 * @fault_work: services @faults
 * @ufence_wq: woken whenever an engine writes a user fence or ends a job
 * @vm_releases: VMs whose VAs a release has unlinked
 * @vm_release_wq: woken when @vm_releases grows
 * @stats: counters
 * @svm_stats: SVM core counters of all the device's VMs
 * @bo_lru_lock: protects @bo_lru and @bo_lru_len
 * @bo_lru: buffer objects in VRAM, least recently placed first
 * @bo_lru_len: entries in @bo_lru
 * @vram_evictors: allocations evicting for VRAM right now; evicted buffer
 *	objects do not return to VRAM meanwhile
 * @sched_pool_lock: protects @sched_pool
 * @sched_pool: stopped schedulers of destroyed queues, for reuse
 * @clients: files opened so far; numbers each file (&simgpu_file.client)
 */
struct simgpu_device {
	struct drm_device drm;
	u32 id;
	const struct simgpu_params *params;
	struct simgpu_vram vram;
	struct simgpu_dmem dmem;
	struct simgpu_engine *engines;
	unsigned int num_engines;
	spinlock_t fault_lock;
	struct list_head faults;
	struct work_struct fault_work;
	wait_queue_head_t ufence_wq;
	atomic_t vm_releases;
	wait_queue_head_t vm_release_wq;
	struct simgpu_stats stats;
	struct simgpu_svm_stats svm_stats;
	spinlock_t bo_lru_lock;
	struct list_head bo_lru;
	unsigned int bo_lru_len;
	atomic_t vram_evictors;
	struct mutex sched_pool_lock;
	struct list_head sched_pool;
	atomic_t clients;
};

/**
 * struct simgpu_file - per-open-file state
 * @client: number of the file among those its device ever opened, from 1;
 *	names it in debugfs
 * @vms: VM id to &struct simgpu_vm, each holding a reference
 * @queues: exec queue id to &struct simgpu_exec_queue
 */
struct simgpu_file {
	u32 client;
	struct xarray vms;
	struct xarray queues;
};

extern unsigned int simgpu_job_timeout_ms;

static inline struct simgpu_device *to_simgpu_device(struct drm_device *drm)
{
	return container_of(drm, struct simgpu_device, drm);
}

extern const struct drm_driver simgpu_drm_driver;

#endif /* _SIMGPU_DRV_H_ */
