/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SIMGPU_DMEM_H_
#define _SIMGPU_DMEM_H_

#include <linux/atomic.h>
#include <linux/err.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/memremap.h>
#include <linux/spinlock.h>
#include <linux/types.h>

#include "simgpu_compat.h"

struct drm_pagemap;
struct drm_pagemap_cache;
struct resource;
struct simgpu_device;
struct simgpu_gpusvm_devmem;
struct simgpu_vm;
struct workqueue_struct;

/**
 * struct simgpu_dmem - a device's VRAM as device-private memory
 * @enabled: SVM migrates to this VRAM (the backend made its pagemap)
 * @pagemap_mapped: @pagemap exists (the simgpu core)
 * @pagemap: the simgpu core's MEMORY_DEVICE_PRIVATE pages, one per 4 KiB
 *	of VRAM: device page i is VRAM offset i * 4 KiB
 * @res: the physical address range reserved for @pagemap
 * @first_pfn: pfn of device page 0
 * @dpagemap_cache: the kernel core's drm_pagemap of this VRAM, made when
 *	first needed and kept while idle (simgpu_dpagemap.c)
 * @unplug_hold: a reference to that pagemap, taken before an unplug and
 *	dropped once devres freed @dpagemap_cache
 * @wq: runs the release of SVM chunks whose pages were all freed
 * @lru_lock: protects @lru and @lru_len
 * @lru: SVM chunks, least recently migrated first
 * @lru_len: entries in @lru
 * @used_svm: bytes of VRAM held by SVM chunks
 */
struct simgpu_dmem {
	bool enabled;
	bool pagemap_mapped;
	struct dev_pagemap pagemap;
	struct resource *res;
	unsigned long first_pfn;
	struct drm_pagemap_cache *dpagemap_cache;
	struct drm_pagemap *unplug_hold;
	struct workqueue_struct *wq;
	spinlock_t lru_lock;
	struct list_head lru;
	unsigned int lru_len;
	atomic64_t used_svm;
};

struct simgpu_dmem_chunk;

/**
 * struct simgpu_dmem_chunk_ops - what the SVM backend does with its chunks
 * @evict: move every page of the chunk to system memory, wherever it is
 *	mapped; no driver lock held
 * @free: free the backend's allocation around the chunk (last reference)
 */
struct simgpu_dmem_chunk_ops {
	void (*evict)(struct simgpu_dmem_chunk *c);
	void (*free)(struct simgpu_dmem_chunk *c);
};

/**
 * struct simgpu_dmem_chunk - VRAM holding the pages of one SVM chunk
 * @ops: the backend's operations
 * @sdev: the device
 * @ref: the base reference (dropped by simgpu_dmem_chunk_release()) and
 *	evictors' references
 * @blocks: the buddy block
 * @lru_link: on &simgpu_dmem.lru
 * @offset: the VRAM offset of the block
 * @size: bytes
 * @migrated_at: jiffies when the chunk was filled
 */
struct simgpu_dmem_chunk {
	const struct simgpu_dmem_chunk_ops *ops;
	struct simgpu_device *sdev;
	struct kref ref;
	struct list_head blocks;
	struct list_head lru_link;
	u64 offset;
	u64 size;
	unsigned long migrated_at;
};

int simgpu_dmem_init(struct simgpu_device *sdev);
int simgpu_dmem_vram_alloc(struct simgpu_device *sdev, u64 size,
			   u64 min_block, struct list_head *blocks);
int simgpu_dmem_chunk_init(struct simgpu_device *sdev,
			   struct simgpu_dmem_chunk *c,
			   const struct simgpu_dmem_chunk_ops *ops, u64 size,
			   struct simgpu_vm *held, unsigned long min_age);
void simgpu_dmem_chunk_add(struct simgpu_dmem_chunk *c);
void simgpu_dmem_chunk_release(struct simgpu_dmem_chunk *c);
bool simgpu_dmem_evict_all(struct simgpu_device *sdev);
void simgpu_dmem_unplug(struct simgpu_device *sdev);

#if SIMGPU_HAVE_DEVMEM
int simgpu_dmem_pagemap_init(struct simgpu_device *sdev);
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
