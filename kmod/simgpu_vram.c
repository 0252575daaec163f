// SPDX-License-Identifier: GPL-2.0
/*
 * simgpu: video memory, its storage and its allocator.
 */

#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/sizes.h>
#include <linux/slab.h>

#include "simgpu_vram.h"

/**
 * DOC: Overview
 *
 * A device's VRAM is a range of offsets [0, size) managed by gpu_buddy in
 * 4 KiB units. Its storage is system memory taken at probe, in 2 MiB runs
 * of order-0 pages (allocated as one order-9 block and split, so that each
 * 4 KiB page can be mapped to userspace on its own). The engines reach a
 * VRAM offset through simgpu_vram_page(), as real hardware would reach its
 * local memory; the CPU reaches it only through a mapping of a buffer
 * object.
 */

/**
 * DOC: Locking
 *
 * &simgpu_vram.lock protects the buddy allocator. It is a leaf lock: no
 * other lock is taken under it, and allocation inside it uses GFP_KERNEL
 * (gpu_buddy allocates its block structures), so it must never be taken
 * from a reclaim or MMU-notifier path. @chunks is written only at init and
 * fini.
 *
 * The order of all the driver's locks: DOC: Locking in simgpu_locking.c.
 */

#define VRAM_CHUNK_ORDER	(21 - PAGE_SHIFT)

/**
 * simgpu_vram_init() - take storage for and set up a device's VRAM
 * @vram: the VRAM to initialise
 * @size: bytes, a multiple of 2 MiB
 *
 * Return: 0, -EINVAL for a bad size or -ENOMEM.
 */
int simgpu_vram_init(struct simgpu_vram *vram, u64 size)
{
	unsigned int i;
	int err;

	if (!size || !IS_ALIGNED(size, SZ_2M))
		return -EINVAL;

	vram->size = size;
	vram->num_chunks = size >> 21;
	mutex_init(&vram->lock);
	atomic64_set(&vram->used, 0);

	vram->chunks = kvcalloc(vram->num_chunks, sizeof(*vram->chunks),
				GFP_KERNEL);
	if (!vram->chunks)
		return -ENOMEM;

	for (i = 0; i < vram->num_chunks; i++) {
		struct page *page;

		page = alloc_pages(GFP_KERNEL | __GFP_NOWARN |
				   __GFP_RETRY_MAYFAIL, VRAM_CHUNK_ORDER);
		if (!page) {
			err = -ENOMEM;
			goto err_chunks;
		}
		split_page(page, VRAM_CHUNK_ORDER);
		vram->chunks[i] = page;
	}

	err = gpu_buddy_init(&vram->mm, size, SZ_4K);
	if (err)
		goto err_chunks;
	return 0;

err_chunks:
	while (i--) {
		unsigned int j;

		for (j = 0; j < (1u << VRAM_CHUNK_ORDER); j++)
			__free_page(vram->chunks[i] + j);
	}
	kvfree(vram->chunks);
	mutex_destroy(&vram->lock);
	return err;
}

/**
 * simgpu_vram_fini() - release VRAM; every allocation must be freed
 * @vram: the VRAM
 */
void simgpu_vram_fini(struct simgpu_vram *vram)
{
	unsigned int i, j;

	gpu_buddy_fini(&vram->mm);
	for (i = 0; i < vram->num_chunks; i++)
		for (j = 0; j < (1u << VRAM_CHUNK_ORDER); j++)
			__free_page(vram->chunks[i] + j);
	kvfree(vram->chunks);
	mutex_destroy(&vram->lock);
}

/**
 * simgpu_vram_alloc() - allocate VRAM
 * @vram: the VRAM
 * @size: bytes, a multiple of 4 KiB
 * @min_block: smallest block, a power of two from 4 KiB; @size for one
 *	contiguous, naturally aligned block
 * @blocks: list receiving the &struct gpu_buddy_block pieces
 *
 * Return: 0, -ENOSPC when VRAM cannot satisfy the request, or -ENOMEM.
 */
int simgpu_vram_alloc(struct simgpu_vram *vram, u64 size, u64 min_block,
		      struct list_head *blocks)
{
	int err;

	mutex_lock(&vram->lock);
	err = gpu_buddy_alloc_blocks(&vram->mm, 0, vram->size, size,
				     min_block, blocks, 0);
	mutex_unlock(&vram->lock);
	if (err)
		return err;

	atomic64_add(size, &vram->used);
	return 0;
}

/**
 * simgpu_vram_free() - free VRAM from simgpu_vram_alloc()
 * @vram: the VRAM
 * @blocks: the blocks; the list is emptied
 */
void simgpu_vram_free(struct simgpu_vram *vram, struct list_head *blocks)
{
	struct gpu_buddy_block *block;
	u64 size = 0;

	list_for_each_entry(block, blocks, link)
		size += gpu_buddy_block_size(&vram->mm, block);

	mutex_lock(&vram->lock);
	gpu_buddy_free_list(&vram->mm, blocks, 0);
	mutex_unlock(&vram->lock);
	atomic64_sub(size, &vram->used);
}

/**
 * simgpu_vram_page() - the storage page behind a VRAM offset
 * @vram: the VRAM
 * @offset: byte offset, below @vram->size
 *
 * Return: the page holding @offset.
 */
struct page *simgpu_vram_page(struct simgpu_vram *vram, u64 offset)
{
	return vram->chunks[offset >> 21] + ((offset & (SZ_2M - 1)) >> PAGE_SHIFT);
}
