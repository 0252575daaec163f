// SPDX-License-Identifier: GPL-2.0
/*
 * simgpu: fault injection sites.
 */

#include <linux/atomic.h>
#include <linux/debugfs.h>
#include <linux/fault-inject.h>

#include "simgpu_inject.h"

/**
 * DOC: Overview
 *
 * Each &enum simgpu_inject_site is a call of simgpu_inject() where the
 * driver allocates or migrates and a failure has a defined outcome: an
 * errno for the ioctl, a job error, or a fallback (a chunk that cannot
 * move to VRAM is mapped in system memory). Each site is a
 * &struct fault_attr of the kernel's fault-injection framework
 * (Documentation/fault-injection/fault-injection.rst), with its files in
 * ``/sys/kernel/debug/simgpu/inject/<site>/`` (``probability``,
 * ``interval``, ``times``, ``task-filter``, ...) and one more, ``hits``:
 * how many times the site has failed. Sites stay quiet (``verbose`` 0):
 * a failure on purpose is not a kernel log event. Built where the kernel
 * has CONFIG_FAULT_INJECTION_DEBUG_FS (svm-dev); elsewhere simgpu_inject()
 * is false and the directory absent. simgpu_inject (IGT) fails each site
 * once and checks what follows.
 */

/**
 * DOC: Locking
 *
 * None: should_fail() keeps its own counters atomically, and the hit
 * counts are atomics. Sites may be called under any driver lock and in
 * the fault and reclaim paths (should_fail() neither sleeps nor
 * allocates).
 */

static const char *const site_names[SIMGPU_INJECT_NUM_SITES] = {
	[SIMGPU_INJECT_VM_BIND] = "vm-bind",
	[SIMGPU_INJECT_PT_ALLOC] = "pt-alloc",
	[SIMGPU_INJECT_BO_PAGES] = "bo-pages",
	[SIMGPU_INJECT_QUEUE] = "queue",
	[SIMGPU_INJECT_JOB] = "job",
	[SIMGPU_INJECT_MADVISE] = "madvise",
	[SIMGPU_INJECT_SVM_RANGE] = "svm-range",
	[SIMGPU_INJECT_SVM_PAGES] = "svm-pages",
	[SIMGPU_INJECT_VRAM_CHUNK] = "vram-chunk",
	[SIMGPU_INJECT_MIGRATE_COPY] = "migrate-copy",
};

static struct fault_attr site_attrs[SIMGPU_INJECT_NUM_SITES];
static atomic_t site_hits[SIMGPU_INJECT_NUM_SITES];
static struct dentry *inject_root;

/**
 * simgpu_inject() - whether @site fails this time
 * @site: the site
 *
 * Return: true when the site's fault attributes say it fails now (the
 * caller then takes its failure path); counted in the site's ``hits``.
 */
bool simgpu_inject(enum simgpu_inject_site site)
{
	if (!should_fail(&site_attrs[site], 1))
		return false;
	atomic_inc(&site_hits[site]);
	return true;
}

/**
 * simgpu_inject_init() - create the sites' debugfs files
 *
 * Called once at module load; a site whose files cannot be made never
 * fails (its probability stays 0).
 */
void simgpu_inject_init(void)
{
	static const struct fault_attr quiet = FAULT_ATTR_INITIALIZER;
	struct dentry *dir, *site;
	unsigned int i;

	inject_root = debugfs_create_dir("simgpu", NULL);
	dir = debugfs_create_dir("inject", inject_root);
	for (i = 0; i < SIMGPU_INJECT_NUM_SITES; i++) {
		site_attrs[i] = quiet;
		site_attrs[i].verbose = 0;
		site = fault_create_debugfs_attr(site_names[i], dir,
						 &site_attrs[i]);
		if (!IS_ERR(site))
			debugfs_create_atomic_t("hits", 0444, site,
						&site_hits[i]);
	}
}

/**
 * simgpu_inject_fini() - remove the sites' debugfs files, at module unload
 */
void simgpu_inject_fini(void)
{
	debugfs_remove_recursive(inject_root);
}
