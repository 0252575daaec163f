/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SIMGPU_MEM_H_
#define _SIMGPU_MEM_H_

#include <linux/types.h>

struct simgpu_engine;
struct simgpu_vm;

/* Kinds of access, as a fault record reports them. */
enum simgpu_access {
	SIMGPU_ACCESS_READ,
	SIMGPU_ACCESS_WRITE,
	SIMGPU_ACCESS_ATOMIC,
};

/**
 * struct simgpu_ctx - what a job's memory accesses go through
 * @e: the engine
 * @vm: the address space
 * @fault_addr: set when an access could not be translated
 * @fault_access: the kind of that access
 */
struct simgpu_ctx {
	struct simgpu_engine *e;
	struct simgpu_vm *vm;
	u64 fault_addr;
	enum simgpu_access fault_access;
};

bool simgpu_mem_pte_allows(u64 pte, enum simgpu_access access);
void simgpu_mem_tlb_invalidate(struct simgpu_engine *e,
			       const struct simgpu_vm *vm, u64 start, u64 end);
int simgpu_mem_read(struct simgpu_ctx *ctx, u64 va, void *buf, size_t len);
int simgpu_mem_write(struct simgpu_ctx *ctx, u64 va, const void *buf,
		     size_t len);
int simgpu_mem_atomic(struct simgpu_ctx *ctx, u64 va, unsigned int op,
		      bool dword, u64 operand, u64 compare, u64 *old);

#endif /* _SIMGPU_MEM_H_ */
