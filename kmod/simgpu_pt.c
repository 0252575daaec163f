// SPDX-License-Identifier: GPL-2.0
/*
 * simgpu: GPU page tables.
 */

#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/mm.h>

#include "simgpu_drv.h"
#include "simgpu_pt.h"

/**
 * DOC: Overview
 *
 * Every VM has a four-level radix page table of 512 entries per level
 * covering a 48-bit virtual space: level 3 is the root, level 0 holds
 * 4 KiB leaves, and level 1 can hold a 2 MiB leaf (SIMGPU_PTE_HUGE). Each
 * table is one zeroed kernel page and a non-leaf entry holds its physical
 * address, as hardware page tables do; the engines walk these tables in
 * software (see simgpu_engine.c).
 *
 * simgpu_pt_set() installs one leaf (4 KiB, or 2 MiB when the entry
 * carries SIMGPU_PTE_HUGE), creating intermediate tables and splitting a
 * 2 MiB leaf into 512 small ones when a 4 KiB leaf lands inside it.
 * simgpu_pt_clear() removes the leaves of a range, splitting 2 MiB leaves
 * that straddle its ends. Tables are never freed while they may be walked:
 * a table an update unlinks goes to @stale, and the owner frees the stale
 * list after it has invalidated the TLBs (simgpu_pt_free_stale()). Empty
 * tables otherwise stay until simgpu_pt_fini().
 */

/**
 * DOC: Locking
 *
 * Updates (set, clear, free_stale, fini) must be serialised by the owner
 * (the VM lock). Lookups are lockless: entries are written with
 * WRITE_ONCE() after the table they point to is fully initialised, and
 * read with READ_ONCE(); the engines look up under their TLB lock, which
 * a TLB invalidation takes, so a lookup that raced with an update has
 * finished before the update's invalidation returns.
 * simgpu_pt_count_mapped() reads entries the same way but walks many
 * tables at leisure: it needs the owner's lock, which keeps tables from
 * being freed under it.
 *
 * The order of all the driver's locks: DOC: Locking in simgpu_locking.c.
 */

static unsigned int pt_index(u64 va, unsigned int level)
{
	return (va >> SIMGPU_PT_LEVEL_SHIFT(level)) & (SIMGPU_PT_ENTRIES - 1);
}

static u64 *pt_table(u64 entry)
{
	return phys_to_virt(entry & SIMGPU_PTE_ADDR);
}

static bool pt_is_table(u64 entry, unsigned int level)
{
	return level > 0 && (entry & SIMGPU_PTE_VALID) &&
	       !(entry & SIMGPU_PTE_HUGE);
}

static u64 *pt_alloc_table(void)
{
	return (u64 *)get_zeroed_page(GFP_KERNEL);
}

static u64 pt_table_entry(u64 *table)
{
	return virt_to_phys(table) | SIMGPU_PTE_VALID;
}

static void pt_free_tree(u64 *table, unsigned int level)
{
	unsigned int i;

	for (i = 0; level > 0 && i < SIMGPU_PT_ENTRIES; i++)
		if (pt_is_table(table[i], level))
			pt_free_tree(pt_table(table[i]), level - 1);
	free_page((unsigned long)table);
}

/**
 * simgpu_pt_init() - create an empty page table
 * @pt: the page table
 *
 * Return: 0 or -ENOMEM.
 */
int simgpu_pt_init(struct simgpu_pt *pt)
{
	INIT_LIST_HEAD(&pt->stale);
	pt->root = pt_alloc_table();
	return pt->root ? 0 : -ENOMEM;
}
SIMGPU_EXPORT_FOR_KUNIT(simgpu_pt_init);

/**
 * simgpu_pt_free_stale() - free the tables earlier updates unlinked
 * @pt: the page table
 *
 * Call only once no engine can still hold a translation through them,
 * i.e. after the TLB invalidation that followed the update.
 */
void simgpu_pt_free_stale(struct simgpu_pt *pt)
{
	struct page *page, *next;

	list_for_each_entry_safe(page, next, &pt->stale, lru) {
		list_del(&page->lru);
		pt_free_tree(page_address(page), page->private);
	}
}
SIMGPU_EXPORT_FOR_KUNIT(simgpu_pt_free_stale);

/**
 * simgpu_pt_fini() - free a page table and every table below it
 * @pt: the page table
 */
void simgpu_pt_fini(struct simgpu_pt *pt)
{
	simgpu_pt_free_stale(pt);
	pt_free_tree(pt->root, SIMGPU_PT_LEVELS - 1);
	pt->root = NULL;
}
SIMGPU_EXPORT_FOR_KUNIT(simgpu_pt_fini);

static void pt_retire(struct simgpu_pt *pt, u64 *table, unsigned int level)
{
	struct page *page = virt_to_page(table);

	page->private = level;
	list_add_tail(&page->lru, &pt->stale);
}

/* Replace the 2 MiB leaf at *slot by a table of 512 equivalent leaves. */
static int pt_split_huge(u64 *slot)
{
	u64 huge = READ_ONCE(*slot);
	u64 flags = huge & ~SIMGPU_PTE_ADDR & ~SIMGPU_PTE_HUGE;
	u64 addr = huge & SIMGPU_PTE_ADDR;
	u64 *table = pt_alloc_table();
	unsigned int i;

	if (!table)
		return -ENOMEM;
	for (i = 0; i < SIMGPU_PT_ENTRIES; i++)
		table[i] = (addr + ((u64)i << PAGE_SHIFT)) | flags;
	WRITE_ONCE(*slot, pt_table_entry(table));
	return 0;
}

/*
 * Walk down to the table at @level that covers @va, creating tables on the
 * way and splitting a 2 MiB leaf found above @level.
 */
static u64 *pt_walk_alloc(struct simgpu_pt *pt, u64 va, unsigned int level,
			  bool alloc)
{
	u64 *table = pt->root;
	unsigned int l;
	int err;

	for (l = SIMGPU_PT_LEVELS - 1; l > level; l--) {
		u64 *slot = &table[pt_index(va, l)];
		u64 entry = READ_ONCE(*slot);

		if (!alloc && (!(entry & SIMGPU_PTE_VALID) ||
			       entry & SIMGPU_PTE_HUGE))
			return ERR_PTR(-EAGAIN);
		if (!(entry & SIMGPU_PTE_VALID)) {
			u64 *next = pt_alloc_table();

			if (!next)
				return ERR_PTR(-ENOMEM);
			WRITE_ONCE(*slot, pt_table_entry(next));
		} else if (entry & SIMGPU_PTE_HUGE) {
			err = pt_split_huge(slot);
			if (err)
				return ERR_PTR(err);
		}
		table = pt_table(READ_ONCE(*slot));
	}
	return table;
}

static int pt_set(struct simgpu_pt *pt, u64 va, u64 pte, bool alloc)
{
	bool huge = pte & SIMGPU_PTE_HUGE;
	unsigned int level = huge ? 1 : 0;
	u64 *table, *slot, old;

	if (va >= SIMGPU_VA_END ||
	    !IS_ALIGNED(va, huge ? SIMGPU_HUGE_SIZE : PAGE_SIZE))
		return -EINVAL;

	table = pt_walk_alloc(pt, va, level, alloc);
	if (IS_ERR(table))
		return PTR_ERR(table);

	slot = &table[pt_index(va, level)];
	old = READ_ONCE(*slot);
	if (!alloc && pt_is_table(old, level))
		return -EAGAIN;
	WRITE_ONCE(*slot, pte);
	if (pt_is_table(old, level))
		pt_retire(pt, pt_table(old), level - 1);
	return 0;
}

/**
 * simgpu_pt_set() - install one leaf entry
 * @pt: the page table
 * @va: virtual address, 4 KiB aligned (2 MiB for a huge entry)
 * @pte: the entry: SIMGPU_PTE_VALID, permissions, address, and
 *	SIMGPU_PTE_HUGE for a 2 MiB leaf
 *
 * Replaces whatever mapped @va. A 2 MiB leaf replacing a table of small
 * leaves retires that table to the stale list.
 *
 * Return: 0, -EINVAL for a misaligned or out-of-range @va, or -ENOMEM.
 */
int simgpu_pt_set(struct simgpu_pt *pt, u64 va, u64 pte)
{
	return pt_set(pt, va, pte, true);
}
SIMGPU_EXPORT_FOR_KUNIT(simgpu_pt_set);

/**
 * simgpu_pt_set_prepared() - install a leaf where the tables exist
 * @pt: the page table
 * @va: virtual address, 4 KiB aligned (2 MiB for a huge entry)
 * @pte: the entry
 *
 * Like simgpu_pt_set(), but never allocates, splits or retires a table:
 * for callers holding a lock taken in reclaim, after
 * simgpu_pt_prepare().
 *
 * Return: 0, -EINVAL, or -EAGAIN when the tables are not as prepared.
 */
int simgpu_pt_set_prepared(struct simgpu_pt *pt, u64 va, u64 pte)
{
	return pt_set(pt, va, pte, false);
}
SIMGPU_EXPORT_FOR_KUNIT(simgpu_pt_set_prepared);

static bool pt_table_empty(const u64 *table)
{
	unsigned int i;

	for (i = 0; i < SIMGPU_PT_ENTRIES; i++)
		if (READ_ONCE(table[i]) & SIMGPU_PTE_VALID)
			return false;
	return true;
}

/**
 * simgpu_pt_prepare() - create the tables that leaves of a range need
 * @pt: the page table
 * @start: first address, 4 KiB aligned
 * @end: end address, 4 KiB aligned
 * @huge: the range will be mapped by one 2 MiB leaf
 *
 * A 2 MiB leaf found where small ones will go is split. Where a 2 MiB leaf
 * will go, an empty table of small leaves left by earlier mappings is
 * retired to the stale list (free it after a TLB invalidation).
 *
 * Return: 0, -EINVAL, -ENOMEM, or -EBUSY when a 2 MiB leaf is asked for
 * where small leaves are still valid.
 */
int simgpu_pt_prepare(struct simgpu_pt *pt, u64 start, u64 end, bool huge)
{
	/* A level-0 table, and a 2 MiB leaf's slot, each cover 2 MiB. */
	const u64 step = 1ULL << SIMGPU_PT_LEVEL_SHIFT(1);
	u64 va, entry;
	u64 *table, *slot;

	if (!simgpu_va_span_ok(start, end))
		return -EINVAL;
	for (va = ALIGN_DOWN(start, step); va < end; va += step) {
		table = pt_walk_alloc(pt, va, huge ? 1 : 0, true);
		if (IS_ERR(table))
			return PTR_ERR(table);
		if (!huge)
			continue;
		slot = &table[pt_index(va, 1)];
		entry = READ_ONCE(*slot);
		if (!pt_is_table(entry, 1))
			continue;
		if (!pt_table_empty(pt_table(entry)))
			return -EBUSY;
		WRITE_ONCE(*slot, 0);
		pt_retire(pt, pt_table(entry), 0);
	}
	return 0;
}
SIMGPU_EXPORT_FOR_KUNIT(simgpu_pt_prepare);

static int pt_clear_level(struct simgpu_pt *pt, u64 *table,
			  unsigned int level, u64 base, u64 start, u64 end)
{
	u64 span = 1ULL << SIMGPU_PT_LEVEL_SHIFT(level);
	unsigned int i;
	int err;

	for (i = pt_index(start, level); i < SIMGPU_PT_ENTRIES; i++) {
		u64 lo = base + i * span, hi = lo + span;
		u64 *slot = &table[i];
		u64 entry = READ_ONCE(*slot);

		if (lo >= end)
			break;
		if (!(entry & SIMGPU_PTE_VALID))
			continue;

		if (start <= lo && hi <= end) {
			/* Entirely covered: drop the leaf or the subtree. */
			WRITE_ONCE(*slot, 0);
			if (pt_is_table(entry, level))
				pt_retire(pt, pt_table(entry), level - 1);
			continue;
		}
		if (entry & SIMGPU_PTE_HUGE) {
			err = pt_split_huge(slot);
			if (err)
				return err;
		}
		err = pt_clear_level(pt, pt_table(READ_ONCE(*slot)), level - 1,
				     lo, max(start, lo), min(end, hi));
		if (err)
			return err;
	}
	return 0;
}

/**
 * simgpu_pt_clear() - remove the leaves of [@start, @end)
 * @pt: the page table
 * @start: first address, 4 KiB aligned
 * @end: end address, 4 KiB aligned
 *
 * A 2 MiB leaf straddling either end is split first, which allocates.
 *
 * Return: 0, -EINVAL for a bad range, or -ENOMEM (some leaves of the range
 * may then still be present).
 */
int simgpu_pt_clear(struct simgpu_pt *pt, u64 start, u64 end)
{
	if (!simgpu_va_span_ok(start, end) ||
	    !IS_ALIGNED(start, PAGE_SIZE) || !IS_ALIGNED(end, PAGE_SIZE))
		return -EINVAL;
	return pt_clear_level(pt, pt->root, SIMGPU_PT_LEVELS - 1, 0,
			      start, end);
}
SIMGPU_EXPORT_FOR_KUNIT(simgpu_pt_clear);

/*
 * Call @leaf(slot, lo, hi, @arg) for every valid leaf of @table (a table
 * of @level whose first entry maps @base) that overlaps [@start, @end),
 * [lo, hi) being the part of that range the leaf maps. Visits only the
 * tables that exist, so a sparse range costs what is mapped in it;
 * allocates and frees nothing.
 */
static void pt_walk_leaves(u64 *table, unsigned int level, u64 base,
			   u64 start, u64 end,
			   void (*leaf)(u64 *, u64, u64, void *), void *arg)
{
	u64 span = 1ULL << SIMGPU_PT_LEVEL_SHIFT(level);
	unsigned int i;

	for (i = pt_index(start, level); i < SIMGPU_PT_ENTRIES; i++) {
		u64 lo = base + i * span, hi = lo + span;
		u64 entry = READ_ONCE(table[i]);

		if (lo >= end)
			break;
		if (!(entry & SIMGPU_PTE_VALID))
			continue;
		if (pt_is_table(entry, level))
			pt_walk_leaves(pt_table(entry), level - 1, lo,
				       max(start, lo), min(end, hi), leaf, arg);
		else
			leaf(&table[i], max(start, lo), min(end, hi), arg);
	}
}

static void pt_zap_leaf(u64 *slot, u64 start, u64 end, void *arg)
{
	WRITE_ONCE(*slot, 0);
}

/**
 * simgpu_pt_zap() - clear the leaves of a range, without allocating
 * @pt: the page table
 * @start: first address, 4 KiB aligned
 * @end: end address, 4 KiB aligned
 *
 * For invalidation paths that may run in reclaim: no table is split,
 * allocated or freed, so a 2 MiB leaf that overlaps the range only in
 * part is cleared whole. Callers use it on ranges mapped as a whole.
 */
void simgpu_pt_zap(struct simgpu_pt *pt, u64 start, u64 end)
{
	if (simgpu_va_span_ok(start, end))
		pt_walk_leaves(pt->root, SIMGPU_PT_LEVELS - 1, 0, start, end,
			       pt_zap_leaf, NULL);
}
SIMGPU_EXPORT_FOR_KUNIT(simgpu_pt_zap);

/**
 * simgpu_pt_lookup() - translate a virtual address
 * @pt: the page table
 * @va: the address
 * @size: if not NULL, receives the size the leaf maps (4 KiB or 2 MiB)
 *
 * Return: the leaf entry mapping @va, with the address of the 4 KiB page
 * holding @va even inside a 2 MiB leaf, or 0 when nothing maps it.
 */
u64 simgpu_pt_lookup(const struct simgpu_pt *pt, u64 va, u64 *size)
{
	const u64 *table = pt->root;
	unsigned int level;
	u64 entry;

	if (va >= SIMGPU_VA_END)
		return 0;

	for (level = SIMGPU_PT_LEVELS - 1; ; level--) {
		entry = READ_ONCE(table[pt_index(va, level)]);
		if (!(entry & SIMGPU_PTE_VALID))
			return 0;
		if (level == 0)
			break;
		if (entry & SIMGPU_PTE_HUGE) {
			if (level != 1)
				return 0;
			if (size)
				*size = SIMGPU_HUGE_SIZE;
			return (entry & ~SIMGPU_PTE_HUGE) +
			       (va & (SIMGPU_HUGE_SIZE - 1) & PAGE_MASK);
		}
		table = pt_table(entry);
	}
	if (size)
		*size = PAGE_SIZE;
	return entry;
}
SIMGPU_EXPORT_FOR_KUNIT(simgpu_pt_lookup);

static void pt_count_leaf(u64 *slot, u64 start, u64 end, void *arg)
{
	struct simgpu_pt_mapped *mapped = arg;
	u64 entry = READ_ONCE(*slot);
	u64 pages = (end - start) >> PAGE_SHIFT;

	if (!(entry & SIMGPU_PTE_VRAM))
		mapped->system += pages;
	else if (entry & SIMGPU_PTE_PEER)
		mapped->peer += pages;
	else
		mapped->vram += pages;
}

/**
 * simgpu_pt_count_mapped() - count the pages a range maps, by memory
 * @pt: the page table
 * @start: first address, 4 KiB aligned
 * @end: end address, 4 KiB aligned
 * @mapped: the counts of the range's valid leaves are added here; a
 *	2 MiB leaf counts the pages it maps inside the range
 *
 * Visits only the tables that exist, so a sparse range costs what is
 * mapped in it. Call with updates excluded (the owner's lock), which
 * keeps tables from being freed; leaves cleared meanwhile by
 * simgpu_pt_zap() may or may not be counted.
 */
void simgpu_pt_count_mapped(const struct simgpu_pt *pt, u64 start, u64 end,
			    struct simgpu_pt_mapped *mapped)
{
	if (simgpu_va_span_ok(start, end))
		pt_walk_leaves(pt->root, SIMGPU_PT_LEVELS - 1, 0, start, end,
			       pt_count_leaf, mapped);
}
SIMGPU_EXPORT_FOR_KUNIT(simgpu_pt_count_mapped);
