// SPDX-License-Identifier: GPL-2.0
/*
 * simgpu: the GPU MMU: the engines' TLBs and every GPU memory access.
 */

#include <linux/atomic.h>
#include <linux/bitfield.h>
#include <linux/highmem.h>
#include <linux/spinlock.h>

#include "simgpu_device.h"
#include "simgpu_drv.h"
#include "simgpu_engine.h"
#include "simgpu_mem.h"
#include "simgpu_pt.h"
#include "simgpu_vm.h"

/**
 * DOC: Overview
 *
 * Every memory access of a command goes through simgpu_mem_read(),
 * simgpu_mem_write() or simgpu_mem_atomic(): translate the address with
 * the engine's TLB, walking the VM's page table on a miss, check the
 * permission, then touch the page. A missing translation or permission
 * records the address and the kind of access in the &struct simgpu_ctx
 * and fails with -EFAULT; the job then stalls on a page fault (fault-mode
 * VMs, see simgpu_fault.c) or ends with -EFAULT.
 *
 * A translation that does not permit an access is dropped from the TLB
 * when the access faults, since resolving the fault may upgrade the PTE in
 * place (for example a page first mapped read-only for a GPU read, then
 * made writable for a GPU write) without an invalidation.
 *
 * TLB invalidation: the engine holds its TLB lock from the translation of
 * an access until the access is done. simgpu_mem_tlb_invalidate() takes
 * the same lock to drop the entries of the range. So once it returns, any
 * access that used an old translation has completed, and every later
 * access misses the TLB and walks the updated page table: no engine uses a
 * translation after the invalidation that removed it.
 */

/**
 * DOC: Locking
 *
 * &simgpu_engine.tlb_lock (spinlock) protects the TLB and is held across
 * each translation and access; it is taken inside &simgpu_vm.lock
 * (invalidation) and inside the SVM notifier lock, and nothing is taken
 * or allocated under it. Accesses run in the engine thread, inside a
 * dma-fence signalling section for a dma-fence queue.
 *
 * The order of all the driver's locks: DOC: Locking in simgpu_locking.c.
 */

static u64 tlb_translate_locked(struct simgpu_engine *e,
				const struct simgpu_vm *vm, u64 va)
{
	struct simgpu_tlb_entry *t = &e->tlb[(va >> PAGE_SHIFT) %
					     SIMGPU_TLB_ENTRIES];
	u64 page = va & PAGE_MASK, pte;

	lockdep_assert_held(&e->tlb_lock);

	if (t->vm == vm && t->va == page) {
		e->tlb_hits++;
		return t->pte;
	}
	e->tlb_misses++;
	pte = simgpu_pt_lookup(&vm->pt, va, NULL);
	if (pte) {
		t->vm = vm;
		t->va = page;
		t->pte = pte;
	}
	return pte;
}

/**
 * simgpu_mem_tlb_invalidate() - drop a range's translations from a TLB
 * @e: the engine
 * @vm: the address space
 * @start: first address
 * @end: end address
 *
 * Returns once no access through a dropped translation is in flight.
 */
void simgpu_mem_tlb_invalidate(struct simgpu_engine *e,
				  const struct simgpu_vm *vm,
				  u64 start, u64 end)
{
	unsigned int i;

	spin_lock(&e->tlb_lock);
	for (i = 0; i < SIMGPU_TLB_ENTRIES; i++) {
		struct simgpu_tlb_entry *t = &e->tlb[i];

		if (t->vm == vm && t->va >= (start & PAGE_MASK) && t->va < end)
			t->vm = NULL;
	}
	spin_unlock(&e->tlb_lock);
}

static struct page *gpu_pte_page(struct simgpu_device *sdev, u64 pte)
{
	/* A peer's VRAM, over the link: mapped only while it exists. */
	if (pte & SIMGPU_PTE_PEER)
		sdev = simgpu_device_lookup(FIELD_GET(SIMGPU_PTE_PEER_ID, pte));
	if (pte & SIMGPU_PTE_VRAM)
		return simgpu_vram_page(&sdev->vram, pte & SIMGPU_PTE_ADDR);
	return pfn_to_page((pte & SIMGPU_PTE_ADDR) >> PAGE_SHIFT);
}

/**
 * simgpu_mem_pte_allows() - whether a PTE permits an access
 * @pte: the leaf entry, 0 for none
 * @access: the kind of access
 *
 * Return: true when the access may go ahead.
 */
bool simgpu_mem_pte_allows(u64 pte, enum simgpu_access access)
{
	switch (access) {
	case SIMGPU_ACCESS_READ:
		return pte & SIMGPU_PTE_VALID;
	case SIMGPU_ACCESS_WRITE:
		return pte & SIMGPU_PTE_WRITE;
	default:
		return pte & SIMGPU_PTE_ATOMIC;
	}
}

/*
 * Translate @va for @access and map its page, or record the fault and
 * return NULL. Either way the TLB lock is held until access_end().
 */
static void *access_begin(struct simgpu_ctx *ctx, u64 va,
			  enum simgpu_access access)
	__acquires(&ctx->e->tlb_lock)
{
	struct simgpu_engine *e = ctx->e;
	u64 pte;

	spin_lock(&e->tlb_lock);
	pte = tlb_translate_locked(e, ctx->vm, va);
	if (!simgpu_mem_pte_allows(pte, access)) {
		/*
		 * Keep no translation that failed an access: resolving the
		 * fault may upgrade the PTE (a read-only page made writable)
		 * without an invalidation, and the retry must walk again.
		 */
		if (pte)
			e->tlb[(va >> PAGE_SHIFT) % SIMGPU_TLB_ENTRIES].vm = NULL;
		ctx->fault_addr = va;
		ctx->fault_access = access;
		return NULL;
	}
	return kmap_local_page(gpu_pte_page(e->sdev, pte)) + offset_in_page(va);
}

static void access_end(struct simgpu_ctx *ctx, void *kaddr)
	__releases(&ctx->e->tlb_lock)
{
	if (kaddr)
		kunmap_local(kaddr);
	spin_unlock(&ctx->e->tlb_lock);
}

static int mem_copy(struct simgpu_ctx *ctx, u64 va, void *buf, size_t len,
		    bool write)
{
	while (len) {
		size_t n = min_t(size_t, len, PAGE_SIZE - offset_in_page(va));
		void *kaddr = access_begin(ctx, va, write ? SIMGPU_ACCESS_WRITE :
							    SIMGPU_ACCESS_READ);

		if (kaddr && write)
			memcpy(kaddr, buf, n);
		else if (kaddr)
			memcpy(buf, kaddr, n);
		access_end(ctx, kaddr);
		if (!kaddr)
			return -EFAULT;
		va += n;
		buf += n;
		len -= n;
	}
	return 0;
}

/**
 * simgpu_mem_read() - GPU read through the engine's MMU
 * @ctx: engine and VM; receives the fault on failure
 * @va: GPU virtual address
 * @buf: destination
 * @len: bytes
 *
 * Return: 0, or -EFAULT when a page is not mapped readable.
 */
int simgpu_mem_read(struct simgpu_ctx *ctx, u64 va, void *buf, size_t len)
{
	return mem_copy(ctx, va, buf, len, false);
}

/**
 * simgpu_mem_write() - GPU write through the engine's MMU
 * @ctx: engine and VM; receives the fault on failure
 * @va: GPU virtual address
 * @buf: source
 * @len: bytes
 *
 * Pages before a faulting one are written.
 *
 * Return: 0, or -EFAULT when a page is not mapped writable.
 */
int simgpu_mem_write(struct simgpu_ctx *ctx, u64 va, const void *buf,
		     size_t len)
{
	return mem_copy(ctx, va, (void *)buf, len, true);
}

/**
 * simgpu_mem_atomic() - GPU atomic read-modify-write
 * @ctx: engine and VM; receives the fault on failure
 * @va: GPU virtual address, naturally aligned (callers check)
 * @op: DRM_SIMGPU_ATOMIC_ADD, _INC, _CMPXCHG or _XCHG
 * @dword: 32-bit instead of 64-bit
 * @operand: the operand
 * @compare: the expected value for _CMPXCHG
 * @old: receives the value before the operation
 *
 * The operation is a CPU atomic instruction on the memory, so it is atomic
 * against the CPU and the other engines too.
 *
 * Return: 0, -EINVAL for a misaligned @va (an operation must not cross
 * into the next page), or -EFAULT when the page does not allow atomics.
 */
int simgpu_mem_atomic(struct simgpu_ctx *ctx, u64 va, unsigned int op,
		      bool dword, u64 operand, u64 compare, u64 *old)
{
	void *kaddr;

	if (!IS_ALIGNED(va, dword ? 4 : 8))
		return -EINVAL;
	kaddr = access_begin(ctx, va, SIMGPU_ACCESS_ATOMIC);

	if (!kaddr) {
		access_end(ctx, kaddr);
		return -EFAULT;
	}

	if (op == DRM_SIMGPU_ATOMIC_INC)
		operand = 1;
	if (dword) {
		atomic_t *p = kaddr;

		switch (op) {
		case DRM_SIMGPU_ATOMIC_CMPXCHG:
			*old = (u32)atomic_cmpxchg(p, compare, operand);
			break;
		case DRM_SIMGPU_ATOMIC_XCHG:
			*old = (u32)atomic_xchg(p, operand);
			break;
		default:
			*old = (u32)atomic_fetch_add(operand, p);
			break;
		}
	} else {
		atomic64_t *p = kaddr;

		switch (op) {
		case DRM_SIMGPU_ATOMIC_CMPXCHG:
			*old = atomic64_cmpxchg(p, compare, operand);
			break;
		case DRM_SIMGPU_ATOMIC_XCHG:
			*old = atomic64_xchg(p, operand);
			break;
		default:
			*old = atomic64_fetch_add(operand, p);
			break;
		}
	}
	access_end(ctx, kaddr);
	return 0;
}
