// SPDX-License-Identifier: GPL-2.0
/*
 * simgpu: debugfs files of each device.
 */

#include <linux/debugfs.h>
#include <linux/pid.h>
#include <linux/sched.h>
#include <linux/seq_file.h>

#include <drm/drm_debugfs.h>
#include <drm/drm_file.h>

#include "simgpu_debugfs.h"
#include "simgpu_drv.h"
#include "simgpu_engine.h"
#include "simgpu_exec_queue.h"
#include "simgpu_vm.h"

/**
 * DOC: Overview
 *
 * Under /sys/kernel/debug/dri/<minor>/ of each device's primary node:
 *
 * - simgpu_stats: fault, TLB and job counters, VMs and exec queues alive
 *   (&struct simgpu_stats), and fault_<stage>_ns: the nanoseconds the
 *   faults served so far spent in each stage (&enum simgpu_fault_stage)
 * - simgpu_engines: per engine its queues, commands, preemptions and TLB
 *   hit/miss counts
 * - simgpu_vram: VRAM size and use, buffer object evictions and restores
 * - simgpu_svm: SVM ranges created and removed (by chunk size), pages
 *   faulted in, invalidations
 * - simgpu_vms: every VM of every open file of the device
 *
 * Each file is one "name value" pair per line, for tools to parse;
 * simgpu_engines has one line per engine, its name and then such pairs.
 * simgpu_vms has a block per VM, oldest file first, then by VM id: a line
 * "vm <client>/<id>" (the file's number among those the device ever
 * opened, and the VM id in that file), then one indented "name value"
 * line each for:
 *
 * - pid, comm: the task that opened the file (the pid in the reader's
 *   namespace, 0 when not visible there; the command name with whitespace
 *   and backslashes as octal escapes, "<unknown>" once the task is gone)
 * - fault_mode, mirror: 0 or 1; mirror_pid: the process the VM mirrors,
 *   or 0
 * - bo_mappings, mirror_mappings: buffer-object mappings, and pieces of
 *   CPU address mirror between them
 * - ranges, ranges_2M, ranges_64K, ranges_4K: SVM ranges alive, by size
 * - svm_system_pages, svm_vram_pages, svm_peer_pages: 4 KiB pages the GPU
 *   maps now in the mirror pieces, in system memory, in the device's own
 *   VRAM and in a linked device's VRAM; bo_system_pages, bo_vram_pages:
 *   the same for buffer objects
 * - faults_retried, faults_cancelled: the GPU faults of simgpu_stats, for
 *   this VM; pages_faulted: the pages_faulted of simgpu_svm, for this VM
 *
 * A VM destroyed while exec queues still use it is no longer listed.
 */

/**
 * DOC: Locking
 *
 * Counters are read without locks; the queue count of an engine is read
 * under its engine lock, the TLB counters under its TLB lock.
 *
 * simgpu_vms walks &drm_device.filelist under &drm_device.filelist_mutex
 * (a file stays on it, with its VMs, until its postclose), takes a
 * reference to each VM under the xarray lock of the file's VMs, and
 * reads the VM under its lock (killable): filelist_mutex -> vm->lock. A
 * VM whose last reference it drops is freed there, under filelist_mutex
 * only, which is the same order.
 * It takes nothing else: no mmap_lock, no SVM notifier lock (the counts
 * come from the VM's drm_gpuvm VAs, page table and SVM ranges, which the
 * VM lock keeps in place), so the MMU notifier and reclaim never wait
 * for it; a fault of the VM waits for one VM's walk. The comm is read
 * under RCU, as drm's own "clients" file does.
 *
 * The order of all the driver's locks: DOC: Locking in simgpu_locking.c.
 */

static struct simgpu_device *node_sdev(struct seq_file *m)
{
	struct drm_info_node *node = m->private;

	return to_simgpu_device(node->minor->dev);
}

static int stats_show(struct seq_file *m, void *data)
{
	struct simgpu_stats *s = &node_sdev(m)->stats;
	unsigned int i;

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
	for (i = 0; i < SIMGPU_FAULT_STAGES; i++)
		seq_printf(m, "fault_%s_ns %lld\n", simgpu_fault_stage_names[i],
			   atomic64_read(&s->fault_ns[i]));
	return 0;
}

static int svm_show(struct seq_file *m, void *data)
{
	struct simgpu_svm_stats *s = &node_sdev(m)->svm_stats;

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
	seq_printf(m, "migrate_to_vram_thp %lld\n",
		   atomic64_read(&s->to_devmem_folios));
	seq_printf(m, "migrate_to_ram_pages %lld\n",
		   atomic64_read(&s->to_ram_pages));
	seq_printf(m, "migrate_to_ram_bytes %lld\n",
		   atomic64_read(&s->to_ram_pages) << PAGE_SHIFT);
	seq_printf(m, "migrate_to_ram_chunks %lld\n",
		   atomic64_read(&s->to_ram_chunks));
	seq_printf(m, "migrate_to_ram_thp %lld\n",
		   atomic64_read(&s->to_ram_folios));
	seq_printf(m, "evictions %lld\n", atomic64_read(&s->evictions));
	seq_printf(m, "evicted_pages %lld\n", atomic64_read(&s->evicted_pages));
	seq_printf(m, "migrate_fallbacks %lld\n",
		   atomic64_read(&s->migrate_fallbacks));
	seq_printf(m, "exclusive_pages %lld\n",
		   atomic64_read(&s->exclusive_pages));
	seq_printf(m, "thrash_holds %lld\n", atomic64_read(&s->thrash_holds));
	seq_printf(m, "migrate_busy_waits %lld\n",
		   atomic64_read(&s->migrate_busy_waits));
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

static int vm_show(struct seq_file *m, u32 client, unsigned long id,
		   pid_t pid, const char *comm, struct simgpu_vm *vm)
{
	struct simgpu_vm_info info;
	pid_t mirror_pid = 0;
	bool mirror;

	if (mutex_lock_killable(&vm->lock))
		return -EINTR;
	simgpu_vm_info_locked(vm, &info);
	mirror = vm->svm_active;
	if (mirror)
		mirror_pid = pid_vnr(vm->svm_pid);
	mutex_unlock(&vm->lock);

	seq_printf(m, "vm %u/%lu\n", client, id);
	seq_printf(m, "  pid %d\n", pid);
	seq_puts(m, "  comm ");
	seq_escape(m, comm, " \t\n\v\f\r\\");
	seq_putc(m, '\n');
	seq_printf(m, "  fault_mode %d\n", simgpu_vm_fault_mode(vm));
	seq_printf(m, "  mirror %d\n", mirror);
	seq_printf(m, "  mirror_pid %d\n", mirror_pid);
	seq_printf(m, "  bo_mappings %lu\n", info.bo_mappings);
	seq_printf(m, "  mirror_mappings %lu\n", info.mirror_mappings);
	seq_printf(m, "  ranges %lu\n",
		   info.ranges[0] + info.ranges[1] + info.ranges[2]);
	seq_printf(m, "  ranges_2M %lu\n", info.ranges[0]);
	seq_printf(m, "  ranges_64K %lu\n", info.ranges[1]);
	seq_printf(m, "  ranges_4K %lu\n", info.ranges[2]);
	seq_printf(m, "  svm_system_pages %llu\n", info.svm.system);
	seq_printf(m, "  svm_vram_pages %llu\n", info.svm.vram);
	seq_printf(m, "  svm_peer_pages %llu\n", info.svm.peer);
	seq_printf(m, "  bo_system_pages %llu\n", info.bo.system);
	seq_printf(m, "  bo_vram_pages %llu\n", info.bo.vram);
	seq_printf(m, "  faults_retried %lld\n",
		   atomic64_read(&vm->faults_retried));
	seq_printf(m, "  faults_cancelled %lld\n",
		   atomic64_read(&vm->faults_cancelled));
	seq_printf(m, "  pages_faulted %lld\n",
		   atomic64_read(&vm->svm_pages_faulted));
	return 0;
}

static int vms_show_file(struct seq_file *m, struct drm_file *file)
{
	struct simgpu_file *sfile = file->driver_priv;
	char comm[TASK_COMM_LEN] = "<unknown>";
	struct task_struct *task;
	struct simgpu_vm *vm;
	unsigned long id;
	pid_t pid = 0;
	int err = 0;

	/* The file's pid changes when another process uses it (RCU). */
	rcu_read_lock();
	task = pid_task(rcu_dereference(file->pid), PIDTYPE_PID);
	if (task) {
		get_task_comm(comm, task);
		pid = task_pid_vnr(task);
	}
	rcu_read_unlock();

	for (id = 0; !err && (vm = simgpu_vm_find_next(file, &id)); id++) {
		err = vm_show(m, sfile->client, id, pid, comm, vm);
		simgpu_vm_put(vm);
	}
	return err;
}

static int vms_show(struct seq_file *m, void *data)
{
	struct drm_device *drm = &node_sdev(m)->drm;
	struct drm_file *file;
	int err = 0;

	mutex_lock(&drm->filelist_mutex);
	/* Youngest first on the list: walk it backwards. */
	list_for_each_entry_reverse(file, &drm->filelist, lhead) {
		err = vms_show_file(m, file);
		if (err)
			break;
	}
	mutex_unlock(&drm->filelist_mutex);
	return err;
}

static const struct drm_info_list simgpu_debugfs_list[] = {
	{ "simgpu_stats", stats_show, 0 },
	{ "simgpu_engines", engines_show, 0 },
	{ "simgpu_vram", vram_show, 0 },
	{ "simgpu_svm", svm_show, 0 },
	{ "simgpu_vms", vms_show, 0 },
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
