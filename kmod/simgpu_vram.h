/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SIMGPU_VRAM_H_
#define _SIMGPU_VRAM_H_

#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/types.h>
#include <linux/gpu_buddy.h>

struct page;

/**
 * struct simgpu_vram - one device's video memory
 * @size: bytes
 * @lock: protects @mm
 * @mm: the buddy allocator handing out @size bytes in 4 KiB units
 * @chunks: the storage: one 2 MiB run of system pages per entry
 * @num_chunks: entries in @chunks
 * @used: bytes allocated
 */
struct simgpu_vram {
	u64 size;
	struct mutex lock;
	struct gpu_buddy mm;
	struct page **chunks;
	unsigned int num_chunks;
	atomic64_t used;
};

int simgpu_vram_init(struct simgpu_vram *vram, u64 size);
void simgpu_vram_fini(struct simgpu_vram *vram);
int simgpu_vram_alloc(struct simgpu_vram *vram, u64 size, u64 min_block,
		      struct list_head *blocks);
void simgpu_vram_free(struct simgpu_vram *vram, struct list_head *blocks);
struct page *simgpu_vram_page(struct simgpu_vram *vram, u64 offset);

#endif /* _SIMGPU_VRAM_H_ */
