/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SIMGPU_ENGINE_H_
#define _SIMGPU_ENGINE_H_

#include <linux/atomic.h>
#include <linux/list.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/wait.h>

struct simgpu_device;
struct simgpu_exec_queue;
struct simgpu_job;
struct page;
struct simgpu_vm;
struct task_struct;

#define SIMGPU_TLB_ENTRIES	64

/**
 * struct simgpu_tlb_entry - a cached translation of one 4 KiB page
 * @vm: the address space; NULL for an empty entry
 * @va: the page address
 * @pte: the leaf entry for that page
 */
struct simgpu_tlb_entry {
	const struct simgpu_vm *vm;
	u64 va;
	u64 pte;
};

/**
 * struct simgpu_engine - one engine of a device
 * @sdev: the device
 * @engine_class: DRM_SIMGPU_ENGINE_CLASS_*
 * @instance: index within the class
 * @thread: executes the jobs of @queues
 * @lock: protects @queues, the queues' job lists and their run state,
 *	and @copies
 * @queues: exec queues on this engine, in round-robin order
 * @copies: kernel copy requests (&struct simgpu_copy_req), served before
 *	any queue
 * @wq: the engine thread sleeps here for work
 * @kicked: work may have arrived since the thread last looked (@lock)
 * @tlb_lock: held across every translation and the access it serves;
 *	protects @tlb
 * @tlb: direct-mapped translation cache
 * @tlb_hits: lookups served by @tlb
 * @tlb_misses: lookups that walked the page table
 * @cmds: commands executed
 * @preemptions: times a job was switched out with work left
 * @copied_pages: pages copied for the kernel (migration)
 */
struct simgpu_engine {
	struct simgpu_device *sdev;
	u16 engine_class;
	u16 instance;
	struct task_struct *thread;
	spinlock_t lock;
	struct list_head queues;
	struct list_head copies;
	wait_queue_head_t wq;
	bool kicked;
	spinlock_t tlb_lock;
	struct simgpu_tlb_entry tlb[SIMGPU_TLB_ENTRIES];
	u64 tlb_hits;
	u64 tlb_misses;
	atomic64_t cmds;
	atomic64_t preemptions;
	atomic64_t copied_pages;
};

int simgpu_engines_init(struct simgpu_device *sdev);
void simgpu_engine_zero_page(struct page *page);
int simgpu_engine_copy_pages(struct simgpu_device *sdev, struct page **dst,
			     struct page **src, unsigned long npages);
struct simgpu_engine *simgpu_engine_find(struct simgpu_device *sdev,
					 u16 engine_class, u16 instance);
void simgpu_engine_kick(struct simgpu_engine *e);

#endif /* _SIMGPU_ENGINE_H_ */
