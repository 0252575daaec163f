// SPDX-License-Identifier: GPL-2.0
/*
 * simgpu: debugfs files of each device.
 */

#include <linux/debugfs.h>
#include <linux/seq_file.h>

#include <drm/drm_debugfs.h>
#include <drm/drm_file.h>

#include "simgpu_drv.h"
#include "simgpu_engine.h"
#include "simgpu_exec.h"

/**
 * DOC: Overview
 *
 * Under /sys/kernel/debug/dri/<minor>/ of each device's primary node:
 *
 * - simgpu_stats: fault, TLB and job counters, VMs and exec queues alive
 *   (&struct simgpu_stats)
 * - simgpu_engines: per engine its queues, commands, preemptions and TLB
 *   hit/miss counts
 * - simgpu_vram: VRAM size and use, buffer object evictions and restores
 * - simgpu_svm: SVM ranges created and removed (by chunk size), pages
 *   faulted in, invalidations
 *
 * Each file is one "name value" pair per line, for tools to parse.
 */

/**
 * DOC: Locking
 *
 * Counters are read without locks; the queue count of an engine is read
 * under its engine lock, the TLB counters under its TLB lock.
 */

static struct simgpu_device *node_sdev(struct seq_file *m)
{
	struct drm_info_node *node = m->private;

	return to_simgpu_device(node->minor->dev);
}

static int stats_show(struct seq_file *m, void *data)
{
	struct simgpu_stats *s = &node_sdev(m)->stats;

	seq_printf(m, "faults %lld\n", atomic64_read(&s->faults));
	seq_printf(m, "faults_retried %lld\n",
		   atomic64_read(&s->faults_retried));
	seq_printf(m, "faults_cancelled %lld\n",
		   atomic64_read(&s->faults_cancelled));
	seq_printf(m, "fatal_misses %lld\n", atomic64_read(&s->fatal_misses));
	seq_printf(m, "tlb_invalidations %lld\n",
		   atomic64_read(&s->tlb_invalidations));
	seq_printf(m, "jobs_completed %lld\n",
		   atomic64_read(&s->jobs_completed));
	seq_printf(m, "jobs_failed %lld\n", atomic64_read(&s->jobs_failed));
	seq_printf(m, "vms %lld\n", atomic64_read(&s->vms));
	seq_printf(m, "exec_queues %lld\n", atomic64_read(&s->exec_queues));
	return 0;
}

static int svm_show(struct seq_file *m, void *data)
{
	struct simgpu_gpusvm_stats *s = &node_sdev(m)->svm_stats;

	seq_printf(m, "ranges_created %lld\n",
		   atomic64_read(&s->ranges_created));
	seq_printf(m, "ranges_removed %lld\n",
		   atomic64_read(&s->ranges_removed));
	seq_printf(m, "ranges_2M %lld\n", atomic64_read(&s->ranges_by_chunk[0]));
	seq_printf(m, "ranges_64K %lld\n",
		   atomic64_read(&s->ranges_by_chunk[1]));
	seq_printf(m, "ranges_4K %lld\n", atomic64_read(&s->ranges_by_chunk[2]));
	seq_printf(m, "pages_faulted %lld\n", atomic64_read(&s->pages_faulted));
	seq_printf(m, "invalidations %lld\n", atomic64_read(&s->invalidations));
	seq_printf(m, "migrate_to_vram_pages %lld\n",
		   atomic64_read(&s->to_devmem_pages));
	seq_printf(m, "migrate_to_vram_bytes %lld\n",
		   atomic64_read(&s->to_devmem_pages) << PAGE_SHIFT);
	seq_printf(m, "migrate_to_vram_2M %lld\n",
		   atomic64_read(&s->to_devmem_by_chunk[0]));
	seq_printf(m, "migrate_to_vram_64K %lld\n",
		   atomic64_read(&s->to_devmem_by_chunk[1]));
	seq_printf(m, "migrate_to_vram_4K %lld\n",
		   atomic64_read(&s->to_devmem_by_chunk[2]));
	seq_printf(m, "migrate_to_ram_pages %lld\n",
		   atomic64_read(&s->to_ram_pages));
	seq_printf(m, "migrate_to_ram_bytes %lld\n",
		   atomic64_read(&s->to_ram_pages) << PAGE_SHIFT);
	seq_printf(m, "migrate_to_ram_chunks %lld\n",
		   atomic64_read(&s->to_ram_chunks));
	seq_printf(m, "evictions %lld\n", atomic64_read(&s->evictions));
	seq_printf(m, "evicted_pages %lld\n", atomic64_read(&s->evicted_pages));
	seq_printf(m, "migrate_fallbacks %lld\n",
		   atomic64_read(&s->migrate_fallbacks));
	seq_printf(m, "exclusive_pages %lld\n",
		   atomic64_read(&s->exclusive_pages));
	return 0;
}

static int engines_show(struct seq_file *m, void *data)
{
	struct simgpu_device *sdev = node_sdev(m);
	unsigned int i, nq;

	for (i = 0; i < sdev->num_engines; i++) {
		struct simgpu_engine *e = &sdev->engines[i];
		struct simgpu_exec_queue *q;
		u64 hits, misses;

		nq = 0;
		spin_lock(&e->lock);
		list_for_each_entry(q, &e->queues, link)
			nq++;
		spin_unlock(&e->lock);
		spin_lock(&e->tlb_lock);
		hits = e->tlb_hits;
		misses = e->tlb_misses;
		spin_unlock(&e->tlb_lock);

		seq_printf(m, "%s%u queues %u cmds %lld preemptions %lld tlb_hits %llu tlb_misses %llu copied_pages %lld\n",
			   e->engine_class == DRM_SIMGPU_ENGINE_CLASS_COPY ?
			   "copy" : "compute", e->instance, nq,
			   atomic64_read(&e->cmds),
			   atomic64_read(&e->preemptions), hits, misses,
			   atomic64_read(&e->copied_pages));
	}
	return 0;
}

static int vram_show(struct seq_file *m, void *data)
{
	struct simgpu_device *sdev = node_sdev(m);
	s64 used = atomic64_read(&sdev->vram.used);
	s64 svm = atomic64_read(&sdev->dmem.used_svm);

	seq_printf(m, "size %llu\n", sdev->vram.size);
	seq_printf(m, "used %lld\n", used);
	seq_printf(m, "used_bo %lld\n", used - svm);
	seq_printf(m, "used_svm %lld\n", svm);
	seq_printf(m, "bo_evictions %lld\n",
		   atomic64_read(&sdev->stats.bo_evictions));
	seq_printf(m, "bo_evicted_bytes %lld\n",
		   atomic64_read(&sdev->stats.bo_evicted_bytes));
	seq_printf(m, "bo_restores %lld\n",
		   atomic64_read(&sdev->stats.bo_restores));
	return 0;
}

static const struct drm_info_list simgpu_debugfs_list[] = {
	{ "simgpu_stats", stats_show, 0 },
	{ "simgpu_engines", engines_show, 0 },
	{ "simgpu_vram", vram_show, 0 },
	{ "simgpu_svm", svm_show, 0 },
};

/**
 * simgpu_debugfs_init() - create the debugfs files of a minor
 * @minor: the DRM minor; files go to the primary one only
 */
void simgpu_debugfs_init(struct drm_minor *minor)
{
	if (minor->type != DRM_MINOR_PRIMARY)
		return;
	drm_debugfs_create_files(simgpu_debugfs_list,
				 ARRAY_SIZE(simgpu_debugfs_list),
				 minor->debugfs_root, minor);
}
