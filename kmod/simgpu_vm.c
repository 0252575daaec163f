// SPDX-License-Identifier: GPL-2.0
/*
 * simgpu: VMs: their lifetime, their GPU faults on buffer objects and
 * QUERY_RANGE; VM_BIND is in simgpu_vm_bind.c.
 */

#include <linux/bitfield.h>
#include <linux/wait.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/uaccess.h>

#include <drm/drm_exec.h>
#include <drm/drm_file.h>
#include <drm/drm_gem.h>
#include <drm/drm_gpuvm.h>

#include "simgpu_bo.h"
#include "simgpu_drv.h"
#include "simgpu_engine.h"
#include "simgpu_inject.h"
#include "simgpu_locking.h"
#include "simgpu_mem.h"
#include "simgpu_svm.h"
#include "simgpu_vm_bind.h"
#include "simgpu_vm.h"

/**
 * DOC: Overview
 *
 * A VM is a GPU address space: a page table (simgpu_pt.c) that the
 * engines walk, and a &struct drm_gpuvm whose GPU VAs (&struct drm_gpuva)
 * say what the page table was written from: a range of a buffer object,
 * linked to the object through the VM's &struct drm_gpuvm_bo for it, or
 * a piece of CPU address mirror (%SIMGPU_VA_MIRROR, no object), which GPU
 * faults fill in from the process's page tables (simgpu_svm.c). The
 * object's &drm_gpuvm_bo holds a reference to it, so the pages a PTE
 * points at stay allocated while the PTE can be used.
 *
 * VM_BIND (simgpu_vm_bind.c) changes the VAs and writes their PTEs.
 * Before the objects of removed VAs can be released, the range is
 * invalidated in every engine's TLB (see simgpu_mem.c): once
 * simgpu_vm_invalidate_locked() returns, no engine uses an old
 * translation, and no access through one is in flight. A fault-mode VM's
 * VA of an object that moved is mapped again where the object is, from
 * the GPU fault (simgpu_vm_resolve_fault()).
 */

/**
 * DOC: Locking
 *
 * &simgpu_vm.lock (a mutex) serialises binds and GPU faults of one VM and
 * protects its VA tree (drm_gpuvm leaves that to the driver) and
 * page-table updates. Under it the code allocates with GFP_KERNEL and
 * takes each engine's TLB lock (a spinlock) for the invalidation:
 * vm->lock -> engine->tlb_lock. An object's list of &drm_gpuvm_bo, and
 * each of those's list of VAs, are protected by the object's reservation
 * (its &dma_resv, drm_gpuvm's default): a bind locks the VM's own
 * reservation object, the object it maps and every object mapped in the
 * range it changes with drm_exec (one ww acquire context), under
 * vm->lock; a GPU fault takes the one object it maps with
 * dma_resv_lock(): vm->lock -> reservation. A move of an object from a
 * fault takes the other VMs' locks with mutex_trylock() under the
 * reservation; one holding no VM lock (an allocation) takes them all
 * first, in address order with one lockdep subclass each, then the
 * reservation (simgpu_vm_bo_lock_all()). No reservation is held while
 * the mmap_lock is taken (the kernel's order, dma_resv_lockdep(), is
 * mmap_lock -> reservation): a bind's PREFETCH runs between the locked
 * MAP and UNMAP operations, not inside them. The engines never take
 * vm->lock; they read the page table locklessly under their TLB lock.
 * The simgpu_vms debugfs file takes it under &drm_device.filelist_mutex
 * to count what the VM maps (simgpu_vm_info_locked()).
 * The per-file xarrays of VMs have their own internal lock; a reference
 * is taken under it (simgpu_vm_lookup(), simgpu_vm_find_next()).
 *
 * The order of all the driver's locks: DOC: Locking in simgpu_locking.c.
 */

static struct simgpu_vm *to_simgpu_vm(struct drm_gpuvm *gpuvm)
{
	return container_of(gpuvm, struct simgpu_vm, gpuvm);
}

/**
 * simgpu_vm_bo_lock_vms_locked() - lock every VM that maps an object
 * @bo: the object
 * @held: a VM whose lock the caller holds, or NULL
 * @set: receives the VMs locked here
 *
 * The VMs are taken with mutex_trylock(): the caller holds @bo's
 * reservation, which nests inside VM locks.
 *
 * Return: 0 with every VM that maps @bo locked; with none, -EBUSY when a
 * VM was busy, -EPERM when one has no fault mode (its jobs need every PTE
 * valid at any time) or more than %SIMGPU_VM_SET_MAX VMs map @bo.
 */
int simgpu_vm_bo_lock_vms_locked(struct simgpu_bo *bo, struct simgpu_vm *held,
				 struct simgpu_vm_set *set)
{
	struct drm_gpuvm_bo *vm_bo;
	struct simgpu_vm *vm;
	int err;

	dma_resv_assert_held(bo->base.resv);

	set->n = 0;
	set->refs = false;
	drm_gem_for_each_gpuvm_bo(vm_bo, &bo->base) {
		vm = to_simgpu_vm(vm_bo->vm);
		err = -EPERM;
		if (!simgpu_vm_fault_mode(vm))
			goto err_unlock;
		if (vm == held)
			continue;
		if (set->n == SIMGPU_VM_SET_MAX)
			goto err_unlock;
		err = -EBUSY;
		if (!mutex_trylock(&vm->lock))
			goto err_unlock;
		set->vms[set->n++] = vm;
	}
	return 0;

err_unlock:
	simgpu_vm_set_unlock(set);
	return err;
}

/**
 * simgpu_vm_set_unlock() - unlock the VMs of simgpu_vm_bo_lock_vms_locked()
 * or simgpu_vm_bo_lock_all()
 * @set: the VMs
 *
 * Drops the references simgpu_vm_bo_lock_all() took: the caller must not
 * hold an object's reservation then (the last reference unlinks the VM's
 * VAs).
 */
void simgpu_vm_set_unlock(struct simgpu_vm_set *set)
{
	struct simgpu_vm *vm;

	while (set->n) {
		vm = set->vms[--set->n];
		mutex_unlock(&vm->lock);
		if (set->refs)
			simgpu_vm_put(vm);
	}
	set->refs = false;
}

static int vm_cmp(const void *a, const void *b)
{
	const struct simgpu_vm *x = *(struct simgpu_vm * const *)a;
	const struct simgpu_vm *y = *(struct simgpu_vm * const *)b;

	return x < y ? -1 : x > y;
}

/* Take a reference to each VM that maps @bo; -EPERM: pinned. */
static int vm_set_collect_locked(struct simgpu_bo *bo,
				 struct simgpu_vm_set *set)
{
	struct drm_gpuvm_bo *vm_bo;
	struct simgpu_vm *vm;

	dma_resv_assert_held(bo->base.resv);

	drm_gem_for_each_gpuvm_bo(vm_bo, &bo->base) {
		vm = to_simgpu_vm(vm_bo->vm);
		if (!simgpu_vm_fault_mode(vm) || set->n == SIMGPU_VM_SET_MAX)
			return -EPERM;
		/* A VM being released unlinks its VAs soon. */
		if (!kref_get_unless_zero(&vm->ref))
			return -EAGAIN;
		set->vms[set->n++] = vm;
	}
	return 0;
}

/* Whether @gpuvm is one of the VMs of @set. */
static bool vm_set_has(const struct simgpu_vm_set *set,
		       const struct drm_gpuvm *gpuvm)
{
	unsigned int i;

	for (i = 0; i < set->n; i++)
		if (&set->vms[i]->gpuvm == gpuvm)
			return true;
	return false;
}

/* Whether every VM that maps @bo is in @set. */
static bool vm_set_covers_locked(struct simgpu_bo *bo,
				 const struct simgpu_vm_set *set)
{
	struct drm_gpuvm_bo *vm_bo;

	dma_resv_assert_held(bo->base.resv);

	drm_gem_for_each_gpuvm_bo(vm_bo, &bo->base)
		if (!vm_set_has(set, vm_bo->vm))
			return false;
	return true;
}

#define VM_SET_TRIES	16
/* A VM being released unlinks its VAs within this many waits. */
#define VM_SET_RELEASE_WAITS	20
#define VM_SET_RELEASE_WAIT	(HZ / 10)

/**
 * simgpu_vm_bo_lock_all() - lock every VM that maps an object, waiting
 * @bo: the object, its reservation not held
 * @set: receives the VMs, locked and referenced
 *
 * For a caller that holds no VM lock: takes the VMs' locks in address
 * order (mutex_lock_nested(), one lockdep subclass each), then the
 * object's reservation, and starts again if a VA in another VM came in
 * meanwhile, and waits (up to two seconds) for a VM being released to
 * unlink its VAs. Release with dma_resv_unlock(), then
 * simgpu_vm_set_unlock().
 *
 * Return: 0 with @bo's reservation and every VM that maps it locked;
 * -EPERM when @bo is pinned (see simgpu_vm_bo_lock_vms_locked()), -EBUSY
 * when the mappings kept changing; nothing locked then.
 */
int simgpu_vm_bo_lock_all(struct simgpu_bo *bo, struct simgpu_vm_set *set)
{
	struct simgpu_device *sdev = to_simgpu_device(bo->base.dev);
	unsigned int i, tries = 0, waits = 0;
	int err, releases;

	while (tries < VM_SET_TRIES) {
		releases = atomic_read(&sdev->vm_releases);
		set->n = 0;
		set->refs = true;
		dma_resv_lock(bo->base.resv, NULL);
		err = vm_set_collect_locked(bo, set);
		dma_resv_unlock(bo->base.resv);
		if (err) {
			for (i = 0; i < set->n; i++)
				simgpu_vm_put(set->vms[i]);
			set->n = 0;
			if (err != -EAGAIN || ++waits > VM_SET_RELEASE_WAITS)
				return err == -EAGAIN ? -EBUSY : err;
			/* A VM being released: wait until a release is done. */
			wait_event_timeout(sdev->vm_release_wq,
					   atomic_read(&sdev->vm_releases) !=
					   releases, VM_SET_RELEASE_WAIT);
			continue;
		}
		sort(set->vms, set->n, sizeof(set->vms[0]), vm_cmp, NULL);
		for (i = 0; i < set->n; i++)
			mutex_lock_nested(&set->vms[i]->lock, i);
		dma_resv_lock(bo->base.resv, NULL);
		if (vm_set_covers_locked(bo, set))
			return 0;
		dma_resv_unlock(bo->base.resv);
		simgpu_vm_set_unlock(set);
		tries++;
	}
	return -EBUSY;
}

/**
 * simgpu_vm_bo_zap_locked() - remove every GPU mapping of an object
 * @bo: the object; every VM that maps it is locked
 *
 * Clears the PTEs of the object's VAs and flushes them from the TLBs; on
 * return no engine accesses the object's storage. The VMs, all in fault
 * mode, map it again on their next GPU fault.
 */
void simgpu_vm_bo_zap_locked(struct simgpu_bo *bo)
{
	struct drm_gpuvm_bo *vm_bo;
	struct simgpu_vm *vm;
	struct drm_gpuva *va;

	dma_resv_assert_held(bo->base.resv);

	drm_gem_for_each_gpuvm_bo(vm_bo, &bo->base) {
		vm = to_simgpu_vm(vm_bo->vm);
		lockdep_assert_held(&vm->lock);
		drm_gpuvm_bo_for_each_va(va, vm_bo) {
			simgpu_pt_zap(&vm->pt, va->va.addr, simgpu_vm_gpuva_end(va));
			simgpu_vm_invalidate_locked(vm, va->va.addr,
						    simgpu_vm_gpuva_end(va));
		}
	}
}

/* Take @va out of the tree and off its object; free it. */
static void va_destroy(struct drm_gpuva *va)
{
	drm_gpuva_remove(va);
	drm_gpuva_unlink(va);
	kfree(va);
}

/*
 * Remove every VA of a VM nobody uses any more. Each object's reservation
 * is taken alone, with a reference held across the unlink (the VM's
 * &drm_gpuvm_bo may hold the last one).
 */
static void vm_remove_all(struct simgpu_vm *vm)
{
	struct drm_gpuva *va, *next;
	struct drm_gem_object *obj;

	drm_gpuvm_for_each_va_safe(va, next, &vm->gpuvm) {
		obj = va->gem.obj;
		if (!obj) {
			va_destroy(va);
			continue;
		}
		drm_gem_object_get(obj);
		dma_resv_lock(obj->resv, NULL);
		va_destroy(va);
		dma_resv_unlock(obj->resv);
		drm_gem_object_put(obj);
		cond_resched();
	}
}

static void vm_release(struct kref *ref)
{
	struct simgpu_vm *vm = container_of(ref, struct simgpu_vm, ref);

	/*
	 * No engine can use the VM any more: no queue refers to it. Its TLB
	 * entries must still go, or a new VM at the same address would hit.
	 */
	simgpu_svm_fini(vm);
	simgpu_vm_tlb_invalidate(vm, 0, U64_MAX);
	vm_remove_all(vm);
	atomic_inc(&vm->sdev->vm_releases);
	wake_up_all(&vm->sdev->vm_release_wq);
	simgpu_pt_fini(&vm->pt);
	atomic64_dec(&vm->sdev->stats.vms);
	/* The last &drm_gpuvm_bo is gone: this is the last reference. */
	drm_gpuvm_put(&vm->gpuvm);
}

static void vm_gpuvm_free(struct drm_gpuvm *gpuvm)
{
	struct simgpu_vm *vm = to_simgpu_vm(gpuvm);

	mutex_destroy(&vm->lock);
	kfree(vm);
}

static const struct drm_gpuvm_ops simgpu_gpuvm_ops = {
	.vm_free = vm_gpuvm_free,
	.sm_step_map = simgpu_vm_bind_sm_step_map,
	.sm_step_remap = simgpu_vm_bind_sm_step_remap,
	.sm_step_unmap = simgpu_vm_bind_sm_step_unmap,
};

/**
 * simgpu_vm_put() - drop a VM reference
 * @vm: the VM
 */
void simgpu_vm_put(struct simgpu_vm *vm)
{
	kref_put(&vm->ref, vm_release);
}

/**
 * simgpu_vm_lookup() - find a VM of a file and take a reference
 * @file: the file
 * @id: the VM id
 *
 * Return: the VM or NULL.
 */
struct simgpu_vm *simgpu_vm_lookup(struct drm_file *file, u32 id)
{
	struct simgpu_file *sfile = file->driver_priv;
	struct simgpu_vm *vm;

	xa_lock(&sfile->vms);
	vm = xa_load(&sfile->vms, id);
	if (vm)
		kref_get(&vm->ref);
	xa_unlock(&sfile->vms);
	return vm;
}

/**
 * simgpu_vm_find_next() - the next VM of a file, with a reference
 * @file: the file
 * @id: the lowest VM id to look at; receives the id of the VM found
 *
 * Walks a file's VMs while VMs come and go: call again with *@id + 1.
 *
 * Return: the VM with the lowest id at or above *@id, or NULL.
 */
struct simgpu_vm *simgpu_vm_find_next(struct drm_file *file,
				      unsigned long *id)
{
	struct simgpu_file *sfile = file->driver_priv;
	struct simgpu_vm *vm;

	xa_lock(&sfile->vms);
	vm = xa_find(&sfile->vms, id, U32_MAX, XA_PRESENT);
	if (vm)
		kref_get(&vm->ref);
	xa_unlock(&sfile->vms);
	return vm;
}

/**
 * simgpu_vm_info_locked() - count what a VM maps
 * @vm: the VM
 * @info: receives the counts
 *
 * Walks the VAs, the page-table levels under them that exist, and
 * the SVM ranges: the cost follows what the VM maps. Takes no lock of
 * its own: the MMU notifier may zap PTEs meanwhile, which are then
 * counted or not.
 */
void simgpu_vm_info_locked(struct simgpu_vm *vm, struct simgpu_vm_info *info)
{
	struct drm_gpuva *va;

	lockdep_assert_held(&vm->lock);

	memset(info, 0, sizeof(*info));
	drm_gpuvm_for_each_va(va, &vm->gpuvm) {
		if (va->gem.obj)
			info->bo_mappings++;
		else
			info->mirror_mappings++;
		simgpu_pt_count_mapped(&vm->pt, va->va.addr, simgpu_vm_gpuva_end(va),
				       va->gem.obj ? &info->bo : &info->svm);
		cond_resched();
	}
	simgpu_svm_count_ranges_locked(vm, info->ranges);
}

/**
 * simgpu_vm_file_fini() - drop every VM id of a closing file
 * @file: the file
 */
void simgpu_vm_file_fini(struct drm_file *file)
{
	struct simgpu_file *sfile = file->driver_priv;
	struct simgpu_vm *vm;
	unsigned long id;

	xa_for_each(&sfile->vms, id, vm)
		simgpu_vm_put(vm);
	xa_destroy(&sfile->vms);
}

/**
 * simgpu_vm_invalidate_locked() - flush a range from every engine's TLB
 * @vm: the VM
 * @start: first address
 * @end: end address
 *
 * Call after the page table no longer maps the range. Frees the tables
 * the updates retired, which no engine can be walking any more.
 */
void simgpu_vm_invalidate_locked(struct simgpu_vm *vm, u64 start, u64 end)
{
	lockdep_assert_held(&vm->lock);

	simgpu_vm_tlb_invalidate(vm, start, end);
	simgpu_pt_free_stale(&vm->pt);
}

/**
 * simgpu_vm_tlb_invalidate() - flush a range from every engine's TLB
 * @vm: the VM
 * @start: first address
 * @end: end address
 *
 * Takes only the engines' TLB locks: usable from the SVM notifier.
 */
void simgpu_vm_tlb_invalidate(struct simgpu_vm *vm, u64 start, u64 end)
{
	struct simgpu_device *sdev = vm->sdev;
	unsigned int i;

	for (i = 0; i < sdev->num_engines; i++)
		simgpu_mem_tlb_invalidate(&sdev->engines[i], vm, start, end);
	atomic64_inc(&sdev->stats.tlb_invalidations);
}

/*
 * A fault-mode VM's VA of an object that moved: bring the object back to
 * VRAM if it was evicted and VRAM is free, and map it where it is.
 */
static int vm_bo_fault_locked(struct simgpu_vm *vm, struct drm_gpuva *va)
{
	struct simgpu_bo *bo = to_simgpu_bo(va->gem.obj);
	int err;

	lockdep_assert_held(&vm->lock);

	dma_resv_lock(bo->base.resv, NULL);
	simgpu_bo_restore_locked(bo, vm);
	err = simgpu_vm_bind_write_ptes_locked(vm, va);
	dma_resv_unlock(bo->base.resv);
	return err;
}

/**
 * simgpu_vm_resolve_fault() - try to make a faulting access possible
 * @vm: the VM
 * @addr: the faulting GPU virtual address
 * @access: the kind of access
 * @t: the fault's timing (simgpu_fault_timing_mark())
 *
 * Called by the fault worker. The page-table walk happens under the VM
 * lock, which keeps tables from being freed under it.
 *
 * Return: 0 when @addr is now mapped for @access (a bind raced with the
 * fault, or the SVM mirror mapped it), -EAGAIN to let the job fault
 * again, or a negative errno: cancel the fault.
 */
int simgpu_vm_resolve_fault(struct simgpu_vm *vm, u64 addr,
			    enum simgpu_access access,
			    struct simgpu_fault_timing *t)
{
	struct drm_gpuva *va;
	u64 pte;
	int err;

	mutex_lock(&vm->lock);
	simgpu_fault_timing_mark(t, SIMGPU_FAULT_LOCK);
	pte = simgpu_pt_lookup(&vm->pt, addr, NULL);
	va = drm_gpuva_find_first(&vm->gpuvm, addr, 1);
	if (simgpu_mem_pte_allows(pte, access))
		err = 0;
	else if (va && va->gem.obj && !(pte & SIMGPU_PTE_VALID))
		err = vm_bo_fault_locked(vm, va);
	else
		err = simgpu_svm_fault_locked(vm, addr, access, t);
	mutex_unlock(&vm->lock);
	return err;
}

/**
 * simgpu_vm_mirror_bounds_locked() - the CPU mirror mapping around @addr
 * @vm: the VM
 * @addr: a GPU virtual address
 * @start: receives the first address of the mirror mapping
 * @end: receives its end
 *
 * Return: true when @addr lies in a CPU address mirror mapping.
 */
bool simgpu_vm_mirror_bounds_locked(struct simgpu_vm *vm, u64 addr,
				    u64 *start, u64 *end)
{
	struct drm_gpuva *va;

	lockdep_assert_held(&vm->lock);

	va = drm_gpuva_find_first(&vm->gpuvm, addr, 1);
	if (!va || !(va->flags & SIMGPU_VA_MIRROR))
		return false;
	*start = va->va.addr;
	*end = simgpu_vm_gpuva_end(va);
	return true;
}

/**
 * simgpu_vm_create_ioctl() - DRM_IOCTL_SIMGPU_VM_CREATE
 * @drm: the device
 * @data: &struct drm_simgpu_vm_create
 * @file: the caller
 *
 * Return: 0 or a negative errno as documented in the uAPI header.
 */
int simgpu_vm_create_ioctl(struct drm_device *drm, void *data,
			   struct drm_file *file)
{
	struct simgpu_file *sfile = file->driver_priv;
	struct drm_simgpu_vm_create *args = data;
	struct drm_gem_object *r_obj;
	struct simgpu_vm *vm;
	u32 id;
	int err;

	if (args->extensions || !simgpu_reserved_clear(args->reserved) ||
	    args->flags & ~DRM_SIMGPU_VM_CREATE_FAULT_MODE)
		return -EINVAL;

	vm = kzalloc_obj(*vm, GFP_KERNEL);
	if (!vm)
		return -ENOMEM;
	r_obj = drm_gpuvm_resv_object_alloc(drm);
	if (!r_obj) {
		kfree(vm);
		return -ENOMEM;
	}
	err = simgpu_pt_init(&vm->pt);
	if (err)
		goto err_put_resv;
	/* From here on the last drm_gpuvm_put() frees the VM. */
	drm_gpuvm_init(&vm->gpuvm, "simgpu", 0, drm, r_obj, 0,
		       SIMGPU_VA_END, 0, 0, &simgpu_gpuvm_ops);
	drm_gem_object_put(r_obj);
	kref_init(&vm->ref);
	vm->sdev = to_simgpu_device(drm);
	vm->flags = args->flags;
	simgpu_locking_vm_init(&vm->lock);
	INIT_WORK(&vm->svm_gc_work, simgpu_svm_gc_work);
	vm->madv = RB_ROOT_CACHED;
	spin_lock_init(&vm->madv_lock);
	INIT_LIST_HEAD(&vm->madv_gc);

	atomic64_inc(&vm->sdev->stats.vms);
	err = xa_alloc(&sfile->vms, &id, vm, xa_limit_32b, GFP_KERNEL);
	if (err) {
		simgpu_vm_put(vm);
		return err;
	}
	args->vm_id = id;
	return 0;

err_put_resv:
	drm_gem_object_put(r_obj);
	kfree(vm);
	return err;
}

/**
 * simgpu_vm_destroy_ioctl() - DRM_IOCTL_SIMGPU_VM_DESTROY
 * @drm: the device
 * @data: &struct drm_simgpu_vm_destroy
 * @file: the caller
 *
 * Return: 0 or a negative errno as documented in the uAPI header.
 */
int simgpu_vm_destroy_ioctl(struct drm_device *drm, void *data,
			    struct drm_file *file)
{
	struct simgpu_file *sfile = file->driver_priv;
	struct drm_simgpu_vm_destroy *args = data;
	struct simgpu_vm *vm;

	if (args->extensions || args->pad ||
	    !simgpu_reserved_clear(args->reserved))
		return -EINVAL;

	/* xa_erase() of index 0 would make 0 allocatable. */
	vm = args->vm_id ? xa_erase(&sfile->vms, args->vm_id) : NULL;
	if (!vm)
		return -ENOENT;
	simgpu_vm_put(vm);
	return 0;
}


#define QUERY_BATCH	512
#define QUERY_MAX_PAGES	(1ULL << 20)

static u32 query_page(struct simgpu_vm *vm, u64 va)
{
	u64 size = 0, pte = simgpu_pt_lookup(&vm->pt, va, &size);
	u32 out = 0;

	if (!(pte & SIMGPU_PTE_VALID))
		return 0;
	out |= DRM_SIMGPU_PAGE_MAPPED;
	if (pte & SIMGPU_PTE_WRITE)
		out |= DRM_SIMGPU_PAGE_WRITE;
	if (pte & SIMGPU_PTE_ATOMIC)
		out |= DRM_SIMGPU_PAGE_ATOMIC;
	if (pte & SIMGPU_PTE_VRAM)
		out |= DRM_SIMGPU_PAGE_VRAM |
		       (pte & SIMGPU_PTE_PEER ?
			(u32)FIELD_GET(SIMGPU_PTE_PEER_ID, pte) : vm->sdev->id)
		       << DRM_SIMGPU_PAGE_DEVICE_SHIFT;
	if (size == SIMGPU_HUGE_SIZE)
		out |= DRM_SIMGPU_PAGE_HUGE;
	if (pte & SIMGPU_PTE_EXCLUSIVE)
		out |= DRM_SIMGPU_PAGE_EXCLUSIVE;
	return out;
}

/**
 * simgpu_vm_query_range_ioctl() - DRM_IOCTL_SIMGPU_VM_QUERY_RANGE
 * @drm: the device
 * @data: &struct drm_simgpu_vm_query_range
 * @file: the caller
 *
 * Return: 0 or a negative errno as documented in the uAPI header.
 */
int simgpu_vm_query_range_ioctl(struct drm_device *drm, void *data,
				struct drm_file *file)
{
	struct drm_simgpu_vm_query_range *args = data;
	u32 __user *upages = u64_to_user_ptr(args->pages);
	struct simgpu_vm *vm;
	u64 i, done;
	u32 *buf;
	int err = 0;

	if (args->extensions || args->flags ||
	    !simgpu_reserved_clear(args->reserved) ||
	    !IS_ALIGNED(args->start, PAGE_SIZE) ||
	    args->num_pages > QUERY_MAX_PAGES ||
	    !simgpu_va_range_ok(args->start, args->num_pages << PAGE_SHIFT))
		return -EINVAL;

	vm = simgpu_vm_lookup(file, args->vm_id);
	if (!vm)
		return -ENOENT;
	buf = kmalloc_array(QUERY_BATCH, sizeof(*buf), GFP_KERNEL);
	if (!buf) {
		err = -ENOMEM;
		goto out;
	}

	for (done = 0; done < args->num_pages && !err; done += i) {
		/* The lock keeps page tables from being freed under us. */
		mutex_lock(&vm->lock);
		for (i = 0; i < QUERY_BATCH && done + i < args->num_pages; i++)
			buf[i] = query_page(vm, args->start +
					    ((done + i) << PAGE_SHIFT));
		mutex_unlock(&vm->lock);
		if (copy_to_user(upages + done, buf, i * sizeof(*buf)))
			err = -EFAULT;
	}
	kfree(buf);
out:
	simgpu_vm_put(vm);
	return err;
}
