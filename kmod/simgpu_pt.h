/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SIMGPU_PT_H_
#define _SIMGPU_PT_H_

#include <linux/bits.h>
#include <asm/page.h>
#include <linux/list.h>
#include <linux/types.h>

/*
 * A GPU page-table entry. Leaf entries sit at level 0 (4 KiB) or, with
 * SIMGPU_PTE_HUGE, at level 1 (2 MiB). The address is a physical address
 * of system memory, or with SIMGPU_PTE_VRAM an offset into the device's
 * VRAM, or with SIMGPU_PTE_PEER too into the VRAM of the linked device
 * SIMGPU_PTE_PEER_ID. Non-leaf entries hold the physical address of the
 * next table.
 */
#define SIMGPU_PTE_VALID	BIT_ULL(0)
#define SIMGPU_PTE_WRITE	BIT_ULL(1)
#define SIMGPU_PTE_ATOMIC	BIT_ULL(2)
#define SIMGPU_PTE_VRAM		BIT_ULL(3)
/* Software bit: a system page the CPU handed over for device atomics */
#define SIMGPU_PTE_EXCLUSIVE	BIT_ULL(4)
#define SIMGPU_PTE_PEER		BIT_ULL(5)
#define SIMGPU_PTE_HUGE		BIT_ULL(7)
#define SIMGPU_PTE_ADDR		GENMASK_ULL(51, 12)
#define SIMGPU_PTE_PEER_ID	GENMASK_ULL(58, 56)

#define SIMGPU_PT_LEVELS	4
#define SIMGPU_PT_LEVEL_BITS	9	/* address bits a level resolves */
#define SIMGPU_PT_ENTRIES	(1U << SIMGPU_PT_LEVEL_BITS)
#define SIMGPU_HUGE_SIZE	(1ULL << SIMGPU_PT_LEVEL_SHIFT(1))

/* The lowest address bit a table of @level indexes by. */
#define SIMGPU_PT_LEVEL_SHIFT(level) \
	(PAGE_SHIFT + SIMGPU_PT_LEVEL_BITS * (level))

/**
 * struct simgpu_pt - a four-level GPU page table over a 48-bit space
 * @root: the level-3 table
 * @stale: tables unlinked by updates, freed by simgpu_pt_free_stale()
 *	once no engine can be walking them
 */
struct simgpu_pt {
	u64 *root;
	struct list_head stale;
};

/**
 * struct simgpu_pt_mapped - what a span of a page table maps, in 4 KiB pages
 * @system: pages of system memory
 * @vram: pages of the device's own VRAM
 * @peer: pages of a linked device's VRAM
 */
struct simgpu_pt_mapped {
	u64 system;
	u64 vram;
	u64 peer;
};

int simgpu_pt_init(struct simgpu_pt *pt);
void simgpu_pt_fini(struct simgpu_pt *pt);
int simgpu_pt_set(struct simgpu_pt *pt, u64 va, u64 pte);
int simgpu_pt_set_prepared(struct simgpu_pt *pt, u64 va, u64 pte);
int simgpu_pt_prepare(struct simgpu_pt *pt, u64 start, u64 end, bool huge);
int simgpu_pt_clear(struct simgpu_pt *pt, u64 start, u64 end);
void simgpu_pt_zap(struct simgpu_pt *pt, u64 start, u64 end);
u64 simgpu_pt_lookup(const struct simgpu_pt *pt, u64 va, u64 *size);
void simgpu_pt_count_mapped(const struct simgpu_pt *pt, u64 start, u64 end,
			    struct simgpu_pt_mapped *mapped);
void simgpu_pt_free_stale(struct simgpu_pt *pt);

#endif /* _SIMGPU_PT_H_ */
