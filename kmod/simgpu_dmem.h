/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SIMGPU_DMEM_H_
#define _SIMGPU_DMEM_H_

#include <linux/atomic.h>
#include <linux/err.h>
#include <linux/list.h>
#include <linux/memremap.h>
#include <linux/spinlock.h>
#include <linux/types.h>

#include "simgpu_compat.h"

struct resource;
struct simgpu_device;
struct simgpu_gpusvm_devmem;
struct simgpu_vm;
struct workqueue_struct;

/**
 * struct simgpu_dmem - a device's VRAM as device-private memory
 * @enabled: the pagemap exists (a kernel with CONFIG_DEVICE_PRIVATE)
 * @pagemap: MEMORY_DEVICE_PRIVATE pages, one per 4 KiB of VRAM: device
 *	page i is VRAM offset i * 4 KiB
 * @res: the physical address range reserved for @pagemap
 * @first_pfn: pfn of device page 0
 * @wq: runs the release of SVM chunks whose pages were all freed
 * @lru_lock: protects @lru and @lru_len
 * @lru: SVM chunks, least recently migrated first
 * @lru_len: entries in @lru
 * @used_svm: bytes of VRAM held by SVM chunks
 */
struct simgpu_dmem {
	bool enabled;
	struct dev_pagemap pagemap;
	struct resource *res;
	unsigned long first_pfn;
	struct workqueue_struct *wq;
	spinlock_t lru_lock;
	struct list_head lru;
	unsigned int lru_len;
	atomic64_t used_svm;
};

#if SIMGPU_HAVE_DEVMEM
int simgpu_dmem_init(struct simgpu_device *sdev);
int simgpu_dmem_vram_alloc(struct simgpu_device *sdev, u64 size,
			   u64 min_block, struct list_head *blocks);
struct simgpu_gpusvm_devmem *simgpu_dmem_svm_alloc(struct simgpu_device *sdev,
						   u64 size,
						   struct simgpu_vm *held,
						   unsigned long min_age);
u64 simgpu_dmem_page_offset(struct simgpu_device *sdev, struct page *page);
bool simgpu_dmem_page_is_local(struct simgpu_device *sdev, struct page *page);
struct simgpu_device *simgpu_dmem_page_peer(struct simgpu_device *sdev,
					    struct page *page);
#else
/* Without device-private memory, VRAM serves buffer objects only. */
int simgpu_dmem_init(struct simgpu_device *sdev);
int simgpu_dmem_vram_alloc(struct simgpu_device *sdev, u64 size,
			   u64 min_block, struct list_head *blocks);

static inline struct simgpu_gpusvm_devmem *
simgpu_dmem_svm_alloc(struct simgpu_device *sdev, u64 size,
		      struct simgpu_vm *held, unsigned long min_age)
{
	return ERR_PTR(-EOPNOTSUPP);
}

static inline u64 simgpu_dmem_page_offset(struct simgpu_device *sdev,
					  struct page *page)
{
	return 0;
}

static inline bool simgpu_dmem_page_is_local(struct simgpu_device *sdev,
					     struct page *page)
{
	return false;
}

static inline struct simgpu_device *
simgpu_dmem_page_peer(struct simgpu_device *sdev, struct page *page)
{
	return NULL;
}
#endif

#endif /* _SIMGPU_DMEM_H_ */
