/* SPDX-License-Identifier: GPL-2.0 */
/*
 * simgpu: fault injection sites (simgpu_inject.c).
 */
#ifndef SIMGPU_INJECT_H
#define SIMGPU_INJECT_H

#include <linux/types.h>

/**
 * enum simgpu_inject_site - a place where simgpu can fail on purpose
 * @SIMGPU_INJECT_VM_BIND: VM_BIND's array of operations (-ENOMEM)
 * @SIMGPU_INJECT_PT_ALLOC: page-table memory a MAP reserves (-ENOMEM)
 * @SIMGPU_INJECT_BO_PAGES: a system-memory buffer object's pages (-ENOMEM)
 * @SIMGPU_INJECT_QUEUE: an exec queue (-ENOMEM)
 * @SIMGPU_INJECT_JOB: a job of EXEC (-ENOMEM)
 * @SIMGPU_INJECT_MADVISE: a span of MADVISE attributes (-ENOMEM)
 * @SIMGPU_INJECT_SVM_RANGE: an SVM range a GPU fault creates (-ENOMEM)
 * @SIMGPU_INJECT_SVM_PAGES: collecting an SVM range's pages (-ENOMEM)
 * @SIMGPU_INJECT_VRAM_CHUNK: VRAM for migrating an SVM chunk (-ENOSPC)
 * @SIMGPU_INJECT_MIGRATE_COPY: the copy engine moving a chunk to VRAM (-EIO)
 * @SIMGPU_INJECT_NUM_SITES: how many there are
 */
enum simgpu_inject_site {
	SIMGPU_INJECT_VM_BIND,
	SIMGPU_INJECT_PT_ALLOC,
	SIMGPU_INJECT_BO_PAGES,
	SIMGPU_INJECT_QUEUE,
	SIMGPU_INJECT_JOB,
	SIMGPU_INJECT_MADVISE,
	SIMGPU_INJECT_SVM_RANGE,
	SIMGPU_INJECT_SVM_PAGES,
	SIMGPU_INJECT_VRAM_CHUNK,
	SIMGPU_INJECT_MIGRATE_COPY,
	SIMGPU_INJECT_NUM_SITES
};

#ifdef CONFIG_FAULT_INJECTION_DEBUG_FS
bool simgpu_inject(enum simgpu_inject_site site);
void simgpu_inject_init(void);
void simgpu_inject_fini(void);
#else
static inline bool simgpu_inject(enum simgpu_inject_site site)
{
	return false;
}

static inline void simgpu_inject_init(void)
{
}

static inline void simgpu_inject_fini(void)
{
}
#endif

#endif
