// SPDX-License-Identifier: GPL-2.0
/*
 * simgpu: VMs and VM_BIND of buffer objects.
 */

#include <linux/bitfield.h>
#include <linux/delay.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/uaccess.h>

#include <drm/drm_exec.h>
#include <drm/drm_file.h>
#include <drm/drm_gem.h>
#include <drm/drm_gpuvm.h>
#include <drm/drm_syncobj.h>

#include "simgpu_bo.h"
#include "simgpu_drv.h"
#include "simgpu_engine.h"
#include "simgpu_inject.h"
#include "simgpu_svm.h"
#include "simgpu_sync.h"
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
 * VM_BIND applies its operations in order. MAP and UNMAP clear the
 * page-table range first, then let drm_gpuvm split the VAs around it
 * (drm_gpuvm_sm_map(), drm_gpuvm_sm_unmap()): a VA that straddles either
 * end of the range is remapped into the piece(s) that stay, one inside is
 * unmapped, and MAP inserts the new VA. A mirror bound over part of a
 * buffer object, or an object bound into a mirror, splits the other the
 * same way. MAP of an object then writes its PTEs, using a 2 MiB entry
 * wherever a 2 MiB aligned piece of the range is backed by 2 MiB of
 * contiguous, aligned memory. Before the objects of removed VAs can be
 * released, the range is invalidated in every engine's TLB (see
 * simgpu_engine.c): once simgpu_vm_invalidate_locked() returns, no engine
 * uses an old translation, and no access through one is in flight.
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

/* Driver bits of &drm_gpuva.flags. */
#define SIMGPU_VA_MIRROR	DRM_GPUVA_USERBITS		/* CPU mirror */
#define SIMGPU_VA_READONLY	(DRM_GPUVA_USERBITS << 1)	/* no writes */

static struct simgpu_vm *to_simgpu_vm(struct drm_gpuvm *gpuvm)
{
	return container_of(gpuvm, struct simgpu_vm, gpuvm);
}

static const struct drm_gpuvm_ops simgpu_gpuvm_ops;

/* The end of a VA, exclusive. */
static u64 gpuva_end(const struct drm_gpuva *va)
{
	return va->va.addr + va->va.range;
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

/* Whether every VM that maps @bo is in @set. */
static bool vm_set_covers_locked(struct simgpu_bo *bo,
				 const struct simgpu_vm_set *set)
{
	struct drm_gpuvm_bo *vm_bo;
	unsigned int i;

	dma_resv_assert_held(bo->base.resv);

	drm_gem_for_each_gpuvm_bo(vm_bo, &bo->base) {
		for (i = 0; i < set->n && &set->vms[i]->gpuvm != vm_bo->vm; i++)
			;
		if (i == set->n)
			return false;
	}
	return true;
}

#define VM_SET_TRIES	16
/* A VM being released unlinks its VAs within this many tries. */
#define VM_SET_RELEASE_TRIES	1000

/**
 * simgpu_vm_bo_lock_all() - lock every VM that maps an object, waiting
 * @bo: the object, its reservation not held
 * @set: receives the VMs, locked and referenced
 *
 * For a caller that holds no VM lock: takes the VMs' locks in address
 * order (mutex_lock_nested(), one lockdep subclass each), then the
 * object's reservation, and starts again if a VA in another VM came in
 * meanwhile, and waits (sleeping, up to a second or two) for a VM being
 * released to unlink its VAs. Release with dma_resv_unlock(), then
 * simgpu_vm_set_unlock().
 *
 * Return: 0 with @bo's reservation and every VM that maps it locked;
 * -EPERM when @bo is pinned (see simgpu_vm_bo_lock_vms_locked()), -EBUSY
 * when the mappings kept changing; nothing locked then.
 */
int simgpu_vm_bo_lock_all(struct simgpu_bo *bo, struct simgpu_vm_set *set)
{
	unsigned int i, tries = 0, released = 0;
	int err;

	while (tries < VM_SET_TRIES) {
		set->n = 0;
		set->refs = true;
		dma_resv_lock(bo->base.resv, NULL);
		err = vm_set_collect_locked(bo, set);
		dma_resv_unlock(bo->base.resv);
		if (err) {
			for (i = 0; i < set->n; i++)
				simgpu_vm_put(set->vms[i]);
			set->n = 0;
			if (err != -EAGAIN || ++released == VM_SET_RELEASE_TRIES)
				return err == -EAGAIN ? -EBUSY : err;
			usleep_range(1000, 2000);
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
			simgpu_pt_zap(&vm->pt, va->va.addr, gpuva_end(va));
			simgpu_vm_invalidate_locked(vm, va->va.addr,
						    gpuva_end(va));
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
		simgpu_pt_count_mapped(&vm->pt, va->va.addr, gpuva_end(va),
				       va->gem.obj ? &info->bo : &info->svm);
		cond_resched();
	}
	simgpu_svm_count_ranges_locked(vm, info->ranges);
}

/**
 * simgpu_file_vms_fini() - drop every VM id of a closing file
 * @file: the file
 */
void simgpu_file_vms_fini(struct drm_file *file)
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
		simgpu_engine_tlb_invalidate(&sdev->engines[i], vm, start, end);
	atomic64_inc(&sdev->stats.tlb_invalidations);
}

static int vm_write_ptes_locked(struct simgpu_vm *vm,
				const struct drm_gpuva *va);

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
	err = vm_write_ptes_locked(vm, va);
	dma_resv_unlock(bo->base.resv);
	return err;
}

/**
 * simgpu_vm_resolve_fault() - try to make a faulting access possible
 * @vm: the VM
 * @addr: the faulting GPU virtual address
 * @access: the kind of access
 *
 * Called by the fault worker. The page-table walk happens under the VM
 * lock, which keeps tables from being freed under it.
 *
 * Return: 0 when @addr is now mapped for @access (a bind raced with the
 * fault, or the SVM mirror mapped it), -EAGAIN to let the job fault
 * again, or a negative errno: cancel the fault.
 */
int simgpu_vm_resolve_fault(struct simgpu_vm *vm, u64 addr,
			    enum simgpu_access access)
{
	struct drm_gpuva *va;
	u64 pte;
	int err;

	mutex_lock(&vm->lock);
	pte = simgpu_pt_lookup(&vm->pt, addr, NULL);
	va = drm_gpuva_find_first(&vm->gpuvm, addr, 1);
	if (simgpu_pte_allows(pte, access))
		err = 0;
	else if (va && va->gem.obj && !(pte & SIMGPU_PTE_VALID))
		err = vm_bo_fault_locked(vm, va);
	else
		err = simgpu_svm_fault_locked(vm, addr, access);
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
	*end = gpuva_end(va);
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

	if (args->extensions || args->reserved[0] || args->reserved[1] ||
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
		       1ULL << SIMGPU_VA_BITS, 0, 0, &simgpu_gpuvm_ops);
	drm_gem_object_put(r_obj);
	kref_init(&vm->ref);
	vm->sdev = to_simgpu_device(drm);
	vm->flags = args->flags;
	simgpu_vm_lock_init(&vm->lock);
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
	    args->reserved[0] || args->reserved[1])
		return -EINVAL;

	/* xa_erase() of index 0 would make 0 allocatable. */
	vm = args->vm_id ? xa_erase(&sfile->vms, args->vm_id) : NULL;
	if (!vm)
		return -ENOENT;
	simgpu_vm_put(vm);
	return 0;
}

/* One validated operation, with its object looked up. */
struct bind_op {
	u32 op;
	u32 flags;
	u32 region;
	struct simgpu_bo *bo;
	u64 offset;
	u64 start;
	u64 end;
};

static int bind_op_check(struct drm_file *file,
			 const struct drm_simgpu_vm_bind_op *uop,
			 struct bind_op *op)
{
	struct drm_gem_object *obj;

	if (uop->extensions || uop->reserved[0] || uop->reserved[1] ||
	    (uop->region && uop->op != DRM_SIMGPU_VM_BIND_OP_PREFETCH))
		return -EINVAL;
	if (!uop->range || !IS_ALIGNED(uop->addr | uop->range, PAGE_SIZE) ||
	    uop->addr >> SIMGPU_VA_BITS ||
	    uop->range > (1ULL << SIMGPU_VA_BITS) - uop->addr)
		return -EINVAL;

	op->op = uop->op;
	op->flags = uop->flags;
	op->start = uop->addr;
	op->end = uop->addr + uop->range;
	op->offset = uop->obj_offset;
	op->region = uop->region;

	switch (uop->op) {
	case DRM_SIMGPU_VM_BIND_OP_MAP:
		if (uop->flags == DRM_SIMGPU_VM_BIND_FLAG_CPU_ADDR_MIRROR)
			return uop->handle || uop->obj_offset ? -EINVAL : 0;
		if (uop->flags & ~DRM_SIMGPU_VM_BIND_FLAG_READONLY ||
		    !IS_ALIGNED(uop->obj_offset, PAGE_SIZE))
			return -EINVAL;
		obj = drm_gem_object_lookup(file, uop->handle);
		if (!obj)
			return -ENOENT;
		if (uop->obj_offset > obj->size ||
		    uop->range > obj->size - uop->obj_offset) {
			drm_gem_object_put(obj);
			return -EINVAL;
		}
		op->bo = to_simgpu_bo(obj);
		return 0;
	case DRM_SIMGPU_VM_BIND_OP_UNMAP:
		if (uop->flags || uop->handle || uop->obj_offset)
			return -EINVAL;
		return 0;
	case DRM_SIMGPU_VM_BIND_OP_PREFETCH:
		if (uop->flags || uop->handle || uop->obj_offset ||
		    (uop->region != DRM_SIMGPU_MEM_SYSTEM &&
		     uop->region != DRM_SIMGPU_MEM_VRAM))
			return -EINVAL;
		return 0;
	default:
		return -EINVAL;
	}
}

/* The PTE for page @idx of @bo, without permission bits. */
static u64 bo_pte_addr(struct simgpu_bo *bo, pgoff_t idx)
{
	if (bo->placement == DRM_SIMGPU_MEM_VRAM)
		return bo->vram_offsets[idx] | SIMGPU_PTE_VRAM;
	return page_to_phys(bo->pages[idx]);
}

/* Whether 2 MiB of @bo from page @idx are contiguous and aligned. */
static bool bo_range_huge(struct simgpu_bo *bo, pgoff_t idx)
{
	u64 first = bo_pte_addr(bo, idx);
	unsigned int i;

	if (!IS_ALIGNED(first & SIMGPU_PTE_ADDR, SIMGPU_HUGE_SIZE))
		return false;
	for (i = 1; i < SIMGPU_PT_ENTRIES; i++)
		if (bo_pte_addr(bo, idx + i) != first + ((u64)i << PAGE_SHIFT))
			return false;
	return true;
}

static int vm_write_ptes_locked(struct simgpu_vm *vm,
				const struct drm_gpuva *va)
{
	struct simgpu_bo *bo = to_simgpu_bo(va->gem.obj);
	u64 perm = SIMGPU_PTE_VALID;
	u64 addr = va->va.addr, end = gpuva_end(va);
	int err;

	lockdep_assert_held(&vm->lock);
	dma_resv_assert_held(bo->base.resv);

	if (!(va->flags & SIMGPU_VA_READONLY))
		perm |= SIMGPU_PTE_WRITE | SIMGPU_PTE_ATOMIC;

	while (addr < end) {
		pgoff_t idx = (va->gem.offset + (addr - va->va.addr)) >>
			      PAGE_SHIFT;

		if (IS_ALIGNED(addr, SIMGPU_HUGE_SIZE) &&
		    end - addr >= SIMGPU_HUGE_SIZE && bo_range_huge(bo, idx)) {
			err = simgpu_pt_set(&vm->pt, addr, bo_pte_addr(bo, idx) |
					    perm | SIMGPU_PTE_HUGE);
			addr += SIMGPU_HUGE_SIZE;
		} else {
			err = simgpu_pt_set(&vm->pt, addr,
					    bo_pte_addr(bo, idx) | perm);
			addr += PAGE_SIZE;
		}
		if (err)
			return err;
	}
	return 0;
}

/*
 * One MAP or UNMAP while drm_gpuvm splits the VAs: the VAs it may need,
 * allocated before the tree changes (the pieces of the VAs straddling the
 * two ends of the range, and the new VA), and the object's VM link.
 */
struct vm_bind_ctx {
	struct simgpu_vm *vm;
	const struct bind_op *op;
	struct drm_gpuvm_bo *vm_bo;
	struct drm_gpuva *spare[3];
};

static struct drm_gpuva *bind_ctx_va(struct vm_bind_ctx *ctx)
{
	struct drm_gpuva *va = NULL;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(ctx->spare) && !va; i++)
		swap(va, ctx->spare[i]);
	return va;
}

/*
 * A VA leaves the tree and its object: the range's PTEs are already
 * cleared, and the object outlives the TLB invalidation that follows, as
 * the bind's drm_exec holds a reference to it.
 */
static void bind_va_drop(struct drm_gpuva *va)
{
	drm_gpuva_unlink(va);
	kfree(va);
}

static int vm_sm_step_map(struct drm_gpuva_op *op, void *priv)
{
	struct vm_bind_ctx *ctx = priv;
	struct drm_gpuva *va = bind_ctx_va(ctx);

	if (!va)
		return -ENOMEM;
	drm_gpuva_map(&ctx->vm->gpuvm, va, &op->map);
	if (!ctx->vm_bo) {
		va->flags = SIMGPU_VA_MIRROR;
		return 0;
	}
	if (ctx->op->flags & DRM_SIMGPU_VM_BIND_FLAG_READONLY)
		va->flags = SIMGPU_VA_READONLY;
	drm_gpuva_link(va, ctx->vm_bo);
	/* On the object's list, it cannot move while vm->lock is held. */
	return vm_write_ptes_locked(ctx->vm, va);
}

static int vm_sm_step_remap(struct drm_gpuva_op *op, void *priv)
{
	struct vm_bind_ctx *ctx = priv;
	struct drm_gpuva *old = op->remap.unmap->va;
	struct drm_gpuva *piece[2] = {};
	unsigned int i;

	if (op->remap.prev)
		piece[0] = bind_ctx_va(ctx);
	if (op->remap.next)
		piece[1] = bind_ctx_va(ctx);
	if (!piece[0] != !op->remap.prev || !piece[1] != !op->remap.next) {
		kfree(piece[0]);
		kfree(piece[1]);
		return -ENOMEM;
	}
	drm_gpuva_remap(piece[0], piece[1], &op->remap);
	for (i = 0; i < ARRAY_SIZE(piece); i++) {
		if (!piece[i])
			continue;
		piece[i]->flags = old->flags;
		if (old->vm_bo)
			drm_gpuva_link(piece[i], old->vm_bo);
	}
	bind_va_drop(old);
	return 0;
}

static int vm_sm_step_unmap(struct drm_gpuva_op *op, void *priv)
{
	drm_gpuva_unmap(&op->unmap);
	bind_va_drop(op->unmap.va);
	return 0;
}

static const struct drm_gpuvm_ops simgpu_gpuvm_ops = {
	.vm_free = vm_gpuvm_free,
	.sm_step_map = vm_sm_step_map,
	.sm_step_remap = vm_sm_step_remap,
	.sm_step_unmap = vm_sm_step_unmap,
};

/* Lock the VM's reservation, @op's object and every object in its range. */
static int bind_op_lock(struct simgpu_vm *vm, struct drm_exec *exec,
			const struct bind_op *op)
{
	int err;

	drm_exec_until_all_locked(exec) {
		err = drm_gpuvm_prepare_vm(&vm->gpuvm, exec, 0);
		drm_exec_retry_on_contention(exec);
		if (err)
			return err;
		err = drm_gpuvm_prepare_range(&vm->gpuvm, exec, op->start,
					      op->end - op->start, 0);
		drm_exec_retry_on_contention(exec);
		if (err)
			return err;
		if (op->bo) {
			err = drm_exec_lock_obj(exec, &op->bo->base);
			drm_exec_retry_on_contention(exec);
			if (err)
				return err;
		}
	}
	return 0;
}

/*
 * A mirror MAP takes in the mirror pieces it touches or falls inside, so
 * that mapping the mirror again where it was cut makes one piece of it, as
 * before the cut (SVM ranges, and 2 MiB GPU entries, never cross pieces).
 */
static void mirror_join_locked(struct simgpu_vm *vm, struct bind_op *op)
{
	struct drm_gpuva *va;

	lockdep_assert_held(&vm->lock);

	va = op->start ? drm_gpuva_find_first(&vm->gpuvm, op->start - 1, 1) :
			 NULL;
	if (va && va->flags & SIMGPU_VA_MIRROR)
		op->start = va->va.addr;
	va = drm_gpuva_find_first(&vm->gpuvm, op->end, 1);
	if (va && va->flags & SIMGPU_VA_MIRROR)
		op->end = va->va.addr + va->va.range;
}

/*
 * Apply a MAP or UNMAP: clear the range's PTEs, split the VAs around it,
 * map the new one, and flush the range from the TLBs before the objects
 * of the removed VAs can go.
 */
static int vm_bind_op_locked(struct simgpu_vm *vm, const struct bind_op *op)
{
	struct vm_bind_ctx ctx = { .vm = vm, .op = op };
	u64 range = op->end - op->start;
	struct drm_exec exec;
	unsigned int i;
	int err = -ENOMEM;

	lockdep_assert_held(&vm->lock);

	for (i = 0; i < ARRAY_SIZE(ctx.spare); i++) {
		if (!simgpu_inject(SIMGPU_INJECT_PT_ALLOC))
			ctx.spare[i] = kzalloc_obj(*ctx.spare[i], GFP_KERNEL);
		if (!ctx.spare[i])
			goto out_free;
	}

	simgpu_svm_remove_ranges_locked(vm, op->start, op->end);
	err = simgpu_pt_clear(&vm->pt, op->start, op->end);
	if (err)
		goto out_free;

	drm_exec_init(&exec, DRM_EXEC_IGNORE_DUPLICATES, 0);
	err = bind_op_lock(vm, &exec, op);
	if (err)
		goto out_invalidate;
	if (op->op == DRM_SIMGPU_VM_BIND_OP_UNMAP) {
		err = drm_gpuvm_sm_unmap(&vm->gpuvm, &ctx, op->start, range);
		goto out_invalidate;
	}
	if (op->bo) {
		ctx.vm_bo = simgpu_gpuvm_bo_obtain(&vm->gpuvm, &op->bo->base);
		if (IS_ERR(ctx.vm_bo)) {
			err = PTR_ERR(ctx.vm_bo);
			goto out_invalidate;
		}
	}
	err = simgpu_gpuvm_sm_map(&vm->gpuvm, &ctx, op->start, range,
				  op->bo ? &op->bo->base : NULL, op->offset);
	if (ctx.vm_bo)
		drm_gpuvm_bo_put(ctx.vm_bo);
out_invalidate:
	simgpu_vm_invalidate_locked(vm, op->start, op->end);
	drm_exec_fini(&exec);
out_free:
	for (i = 0; i < ARRAY_SIZE(ctx.spare); i++)
		kfree(ctx.spare[i]);
	return err;
}

static void bind_ops_put(struct bind_op *ops, u32 n)
{
	u32 i;

	for (i = 0; i < n; i++)
		if (ops[i].bo)
			drm_gem_object_put(&ops[i].bo->base);
}

static int vm_bind_apply(struct simgpu_vm *vm, struct bind_op *ops, u32 n)
{
	int err = 0;
	u32 i;

	mutex_lock(&vm->lock);
	for (i = 0; i < n && !err; i++) {
		switch (ops[i].op) {
		case DRM_SIMGPU_VM_BIND_OP_PREFETCH:
			/* Maps pages itself, under the SVM notifier lock. */
			err = simgpu_svm_prefetch_locked(vm, ops[i].start,
							 ops[i].end,
							 ops[i].region);
			break;
		case DRM_SIMGPU_VM_BIND_OP_MAP:
			if (!ops[i].bo) {
				err = simgpu_svm_activate_locked(vm);
				if (err)
					break;
				mirror_join_locked(vm, &ops[i]);
			}
			fallthrough;
		default:
			err = vm_bind_op_locked(vm, &ops[i]);
		}
	}
	mutex_unlock(&vm->lock);
	return err;
}

#define SIMGPU_MAX_BIND_OPS	512

/**
 * simgpu_vm_bind_ioctl() - DRM_IOCTL_SIMGPU_VM_BIND
 * @drm: the device
 * @data: &struct drm_simgpu_vm_bind
 * @file: the caller
 *
 * Return: 0 or a negative errno as documented in the uAPI header.
 */
int simgpu_vm_bind_ioctl(struct drm_device *drm, void *data,
			 struct drm_file *file)
{
	struct drm_simgpu_vm_bind *args = data;
	struct drm_simgpu_vm_bind_op __user *uops = u64_to_user_ptr(args->binds);
	struct drm_simgpu_vm_bind_op uop;
	struct simgpu_syncs *syncs = NULL;
	struct bind_op *ops = NULL;
	struct simgpu_vm *vm;
	u32 i;
	int err;

	if (args->extensions || args->pad || args->reserved[0] ||
	    args->reserved[1] || !args->num_binds ||
	    args->num_binds > SIMGPU_MAX_BIND_OPS)
		return -EINVAL;

	if (!simgpu_inject(SIMGPU_INJECT_VM_BIND)) {
		ops = kvcalloc(args->num_binds, sizeof(*ops), GFP_KERNEL);
		syncs = kmalloc_obj(*syncs, GFP_KERNEL);
	}
	if (!ops || !syncs) {
		err = -ENOMEM;
		goto err_free;
	}

	for (i = 0; i < args->num_binds; i++) {
		if (copy_from_user(&uop, &uops[i], sizeof(uop))) {
			err = -EFAULT;
			goto err_ops;
		}
		err = bind_op_check(file, &uop, &ops[i]);
		if (err)
			goto err_ops;
	}

	err = simgpu_syncs_get(file, args->syncs, args->num_syncs,
			       false, syncs);
	if (err)
		goto err_ops;

	vm = simgpu_vm_lookup(file, args->vm_id);
	if (!vm) {
		err = -ENOENT;
		goto err_syncs;
	}
	for (i = 0; i < args->num_binds; i++) {
		if (ops[i].op == DRM_SIMGPU_VM_BIND_OP_MAP && !ops[i].bo &&
		    !simgpu_vm_fault_mode(vm)) {
			err = -EINVAL;
			goto err_vm;
		}
	}

	err = simgpu_syncs_wait_in(syncs);
	if (err)
		goto err_vm;

	err = vm_bind_apply(vm, ops, args->num_binds);
	if (err)
		goto err_vm;

	/* Binds complete before the ioctl returns: signal the out-fences. */
	for (i = 0; i < syncs->num_out; i++) {
		struct dma_fence *stub = dma_fence_get_stub();

		drm_syncobj_replace_fence(syncs->out[i], stub);
		dma_fence_put(stub);
	}
	err = simgpu_syncs_write_ufences_user(syncs);
	if (syncs->num_ufences)
		wake_up_all(&vm->sdev->ufence_wq);

err_vm:
	simgpu_vm_put(vm);
err_syncs:
	simgpu_syncs_put(syncs);
err_ops:
	bind_ops_put(ops, args->num_binds);
err_free:
	kfree(syncs);
	kvfree(ops);
	return err;
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

	if (args->extensions || args->flags || args->reserved[0] ||
	    args->reserved[1] || !IS_ALIGNED(args->start, PAGE_SIZE) ||
	    !args->num_pages || args->num_pages > QUERY_MAX_PAGES ||
	    args->start >> SIMGPU_VA_BITS ||
	    args->num_pages > ((1ULL << SIMGPU_VA_BITS) - args->start) >>
			      PAGE_SHIFT)
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
