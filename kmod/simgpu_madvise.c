// SPDX-License-Identifier: GPL-2.0
/*
 * simgpu: memory attributes of SVM spans (MADVISE and its query).
 */

#include <linux/file.h>
#include <linux/interval_tree_generic.h>
#include <linux/mmu_notifier.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include <drm/drm_drv.h>
#include <drm/drm_file.h>

#include "simgpu_device.h"
#include "simgpu_drv.h"
#include "simgpu_inject.h"
#include "simgpu_madvise.h"
#include "simgpu_svm.h"
#include "simgpu_vm.h"

/**
 * DOC: Overview
 *
 * A VM keeps the attributes set with DRM_IOCTL_SIMGPU_VM_MADVISE in an
 * interval tree of spans (&struct simgpu_madvise_span), each with all the
 * attributes; addresses outside every span have the defaults, which are
 * never stored. Setting an attribute rebuilds the affected stretch of the
 * tree: spans are split at the new boundaries and adjacent spans with
 * equal attributes are merged, so the tree is always minimal. The SVM
 * ranges of the stretch are removed, so that ranges never straddle an
 * attribute boundary and the next GPU fault applies the new attributes.
 *
 * Each span watches its addresses with an MMU interval notifier: when the
 * process unmaps part of it, the callback records the unmapped stretch
 * (the hull of what was unmapped since the last collection) and the VM's
 * SVM worker resets it to the defaults. A new mapping at the same address
 * therefore starts afresh. Rebuilding a stretch replaces its spans, and
 * with them their notifiers: an unmap recorded on a replaced span and not
 * yet collected moves to the new spans over it, which were made after the
 * unmap and would never see it. Once the process's address space is
 * going away (exit), nothing is rebuilt: no notifier may be added to a
 * dying mm, and the spans go with the VM.
 */

/**
 * DOC: Locking
 *
 * The VM lock protects the span tree; the ioctls, the fault path and the
 * SVM worker hold it. &simgpu_vm.madv_lock (spinlock) protects the
 * recorded unmaps of every span and the list of spans that have one; it
 * is the only lock the notifier callback takes (besides queueing work),
 * so the callback never waits for the VM lock.
 *
 * The order of all the driver's locks: DOC: Locking in simgpu_locking.c.
 */

/**
 * struct simgpu_madvise_span - a span of addresses with non-default attributes
 * @vm: the VM
 * @rb: node in &simgpu_vm.madv
 * @start: first address
 * @last: last address
 * @__subtree_last: interval tree bookkeeping
 * @attrs: the attributes
 * @notifier: watches the span for munmap
 * @gc_link: on &simgpu_vm.madv_gc while an unmap is recorded
 * @unmap_start: first unmapped address recorded (madv_lock)
 * @unmap_last: last unmapped address recorded (madv_lock)
 */
struct simgpu_madvise_span {
	struct simgpu_vm *vm;
	struct rb_node rb;
	u64 start;
	u64 last;
	u64 __subtree_last;
	struct simgpu_madvise_attrs attrs;
	struct mmu_interval_notifier notifier;
	struct list_head gc_link;
	u64 unmap_start;
	u64 unmap_last;
};

#define S_START(s) ((s)->start)
#define S_LAST(s) ((s)->last)

/* The end of a span, exclusive. */
static u64 span_end(const struct simgpu_madvise_span *s)
{
	return s->last + 1;
}

/* The end of the unmapped stretch a span recorded, exclusive. */
static u64 span_unmap_end(const struct simgpu_madvise_span *s)
{
	return s->unmap_last + 1;
}
INTERVAL_TREE_DEFINE(struct simgpu_madvise_span, rb, u64, __subtree_last,
		     S_START, S_LAST, static, span_it)

/* The defaults of every attribute. */
const struct simgpu_madvise_attrs simgpu_madvise_defaults = {
	.loc = DRM_SIMGPU_MADV_LOC_DEFAULT,
	.migration = DRM_SIMGPU_MADV_MIGRATE_ALL_PAGES,
	.atomic = DRM_SIMGPU_MADV_ATOMIC_DEFAULT,
};
SIMGPU_EXPORT_FOR_KUNIT(simgpu_madvise_defaults);

static bool attrs_equal(const struct simgpu_madvise_attrs *a,
			const struct simgpu_madvise_attrs *b)
{
	return !memcmp(a, b, sizeof(*a));
}

static bool span_invalidate(struct mmu_interval_notifier *mni,
			    const struct mmu_notifier_range *range,
			    unsigned long cur_seq)
{
	struct simgpu_madvise_span *s =
		container_of(mni, struct simgpu_madvise_span, notifier);
	struct simgpu_vm *vm = s->vm;
	u64 start = max_t(u64, range->start, s->start);
	u64 last = min_t(u64, range->end - 1, s->last);

	if (range->event != MMU_NOTIFY_UNMAP)
		return true;

	spin_lock(&vm->madv_lock);
	if (list_empty(&s->gc_link)) {
		s->unmap_start = start;
		s->unmap_last = last;
		list_add_tail(&s->gc_link, &vm->madv_gc);
	} else {
		s->unmap_start = min(s->unmap_start, start);
		s->unmap_last = max(s->unmap_last, last);
	}
	spin_unlock(&vm->madv_lock);
	queue_work(system_dfl_wq, &vm->svm_gc_work);
	return true;
}

static const struct mmu_interval_notifier_ops span_notifier_ops = {
	.invalidate = span_invalidate,
};

/*
 * Free a span. An unmap recorded on it and not collected yet is returned
 * in @carry (end 0: none).
 */
static void span_free_locked(struct simgpu_vm *vm, struct simgpu_madvise_span *s,
			     struct simgpu_madvise_piece *carry)
{
	lockdep_assert_held(&vm->lock);

	span_it_remove(s, &vm->madv);
	mmu_interval_notifier_remove(&s->notifier);
	carry->end = 0;
	spin_lock(&vm->madv_lock);
	if (!list_empty(&s->gc_link)) {
		carry->start = s->unmap_start;
		carry->end = span_unmap_end(s);
		list_del(&s->gc_link);
	}
	spin_unlock(&vm->madv_lock);
	kfree(s);
}

/* Record the unmap of [start, end) on every span over it, for the worker. */
static void madv_record_unmap_locked(struct simgpu_vm *vm, u64 start, u64 end)
{
	struct simgpu_madvise_span *s;
	bool queued = false;

	lockdep_assert_held(&vm->lock);

	for (s = span_it_iter_first(&vm->madv, start, end - 1); s;
	     s = span_it_iter_next(s, start, end - 1)) {
		spin_lock(&vm->madv_lock);
		if (list_empty(&s->gc_link)) {
			s->unmap_start = max(start, s->start);
			s->unmap_last = min(end - 1, s->last);
			list_add_tail(&s->gc_link, &vm->madv_gc);
		} else {
			s->unmap_start = min(s->unmap_start, max(start, s->start));
			s->unmap_last = max(s->unmap_last, min(end - 1, s->last));
		}
		spin_unlock(&vm->madv_lock);
		queued = true;
	}
	if (queued)
		queue_work(system_dfl_wq, &vm->svm_gc_work);
}

/**
 * simgpu_madvise_pieces() - the attribute pieces of a stretch after a change
 * @old: the spans that overlap or touch [@start, @end), ascending
 * @n_old: entries in @old
 * @start: first address of the change
 * @end: end of the change
 * @apply: changes the attributes of one piece inside [@start, @end)
 * @arg: for @apply
 * @out: receives the new spans, ascending, at least 2 * @n_old + 3 entries
 *
 * The stretch is [@start, @end) joined with @old. It is cut at every
 * boundary of @old and at @start and @end; the cuts inside [@start, @end)
 * get @apply; adjacent cuts with equal attributes are merged and cuts with
 * the default attributes are dropped.
 *
 * Return: entries in @out.
 */
unsigned int simgpu_madvise_pieces(const struct simgpu_madvise_piece *old,
				unsigned int n_old, u64 start, u64 end,
				void (*apply)(struct simgpu_madvise_attrs *a,
					      const void *arg),
				const void *arg,
				struct simgpu_madvise_piece *out)
{
	u64 lo = n_old ? min(start, old[0].start) : start;
	u64 hi = n_old ? max(end, old[n_old - 1].end) : end;
	unsigned int n = 0, i = 0;
	u64 pos;

	for (pos = lo; pos < hi; ) {
		struct simgpu_madvise_attrs a = simgpu_madvise_defaults;
		u64 cut = hi;

		while (i < n_old && old[i].end <= pos)
			i++;
		if (i < n_old && old[i].start <= pos) {
			a = old[i].attrs;
			cut = old[i].end;
		} else if (i < n_old) {
			cut = old[i].start;
		}
		if (pos < start && cut > start)
			cut = start;
		if (pos < end && cut > end)
			cut = end;
		if (pos >= start && pos < end)
			apply(&a, arg);
		if (n && out[n - 1].end == pos &&
		    attrs_equal(&out[n - 1].attrs, &a)) {
			out[n - 1].end = cut;
		} else if (!attrs_equal(&a, &simgpu_madvise_defaults)) {
			out[n].start = pos;
			out[n].end = cut;
			out[n].attrs = a;
			n++;
		}
		pos = cut;
	}
	return n;
}
SIMGPU_EXPORT_FOR_KUNIT(simgpu_madvise_pieces);

/*
 * Rebuild the tree over [start, end) with @apply run on the attributes of
 * every address there: split, apply, merge with equal neighbours.
 */
static int madv_update_locked(struct simgpu_vm *vm, u64 start, u64 end,
			      void (*apply)(struct simgpu_madvise_attrs *a,
					    const void *arg),
			      const void *arg)
{
	struct simgpu_madvise_piece *old, *pieces, *carry;
	struct simgpu_madvise_span *s, *next;
	u64 from = start ? start - 1 : 0, lo = start, hi = end;
	unsigned int n_old = 0, n_carry = 0, n, i;
	int err = 0;

	lockdep_assert_held(&vm->lock);

	/* An exiting process: its spans go with the VM. */
	if (!mmget_not_zero(vm->svm_mm))
		return -EFAULT;

	/* The spans that overlap or touch [start, end), to merge with. */
	for (s = span_it_iter_first(&vm->madv, from, end); s;
	     s = span_it_iter_next(s, from, end))
		n_old++;
	old = kcalloc(4 * n_old + 3, sizeof(*old), GFP_KERNEL);
	if (!old) {
		err = -ENOMEM;
		goto out;
	}
	pieces = old + n_old;
	carry = pieces + 2 * n_old + 3;
	n_old = 0;
	for (s = span_it_iter_first(&vm->madv, from, end); s;
	     s = span_it_iter_next(s, from, end)) {
		old[n_old].start = s->start;
		old[n_old].end = span_end(s);
		old[n_old].attrs = s->attrs;
		lo = min(lo, s->start);
		hi = max(hi, span_end(s));
		n_old++;
	}
	n = simgpu_madvise_pieces(old, n_old, start, end, apply, arg, pieces);

	for (s = span_it_iter_first(&vm->madv, lo, hi - 1); s; s = next) {
		next = span_it_iter_next(s, lo, hi - 1);
		span_free_locked(vm, s, &carry[n_carry]);
		n_carry += carry[n_carry].end != 0;
	}

	for (i = 0; i < n; i++) {
		s = simgpu_inject(SIMGPU_INJECT_MADVISE) ? NULL :
			kzalloc_obj(*s, GFP_KERNEL);
		if (!s) {
			err = -ENOMEM;
			break;
		}
		s->vm = vm;
		s->start = pieces[i].start;
		s->last = pieces[i].end - 1;
		s->attrs = pieces[i].attrs;
		INIT_LIST_HEAD(&s->gc_link);
		err = mmu_interval_notifier_insert(&s->notifier,
						   vm->svm_mm,
						   s->start,
						   pieces[i].end - s->start,
						   &span_notifier_ops);
		if (err) {
			kfree(s);
			break;
		}
		span_it_insert(s, &vm->madv);
	}
	/* Unmaps the replaced spans had not had collected yet. */
	for (i = 0; i < n_carry; i++)
		madv_record_unmap_locked(vm, carry[i].start, carry[i].end);
	/* Out of memory: the spans not made fall back to the defaults. */
	kfree(old);

	simgpu_svm_remove_ranges_locked(vm, lo, hi);
out:
	/* Not the last reference in this worker: exit_mmap() runs elsewhere. */
	mmput_async(vm->svm_mm);
	return err;
}

static void madv_reset(struct simgpu_madvise_attrs *a, const void *arg)
{
	*a = simgpu_madvise_defaults;
}

/**
 * simgpu_madvise_gc_locked() - reset the attributes of unmapped memory
 * @vm: the VM
 *
 * Called from the VM's SVM worker.
 */
void simgpu_madvise_gc_locked(struct simgpu_vm *vm)
{
	struct simgpu_madvise_span *s;
	u64 start, end;

	lockdep_assert_held(&vm->lock);

	for (;;) {
		spin_lock(&vm->madv_lock);
		s = list_first_entry_or_null(&vm->madv_gc,
					     struct simgpu_madvise_span, gc_link);
		if (s) {
			list_del_init(&s->gc_link);
			start = s->unmap_start;
			end = span_unmap_end(s);
		}
		spin_unlock(&vm->madv_lock);
		if (!s)
			return;
		/* Best effort: without memory the attributes stay. */
		madv_update_locked(vm, start, end, madv_reset, NULL);
	}
}

/**
 * simgpu_madvise_fini_locked() - drop every span of a VM
 * @vm: the VM, no longer mirroring
 */
void simgpu_madvise_fini_locked(struct simgpu_vm *vm)
{
	struct simgpu_madvise_piece carry;
	struct simgpu_madvise_span *s;

	lockdep_assert_held(&vm->lock);

	while ((s = span_it_iter_first(&vm->madv, 0, U64_MAX)))
		span_free_locked(vm, s, &carry);
}

/**
 * simgpu_madvise_lookup_locked() - the attributes at an address
 * @vm: the VM
 * @addr: the address
 * @attrs: receives the attributes
 * @lo: narrowed to the first address with the same attributes
 * @hi: narrowed to the end of the addresses with the same attributes
 */
void simgpu_madvise_lookup_locked(struct simgpu_vm *vm, u64 addr,
			       struct simgpu_madvise_attrs *attrs, u64 *lo, u64 *hi)
{
	struct simgpu_madvise_span *s;

	lockdep_assert_held(&vm->lock);

	s = span_it_iter_first(&vm->madv, addr, addr);
	if (s) {
		*attrs = s->attrs;
		*lo = max(*lo, s->start);
		*hi = min(*hi, span_end(s));
		return;
	}
	*attrs = simgpu_madvise_defaults;
	/* The gap between the spans around @addr. */
	for (s = span_it_iter_first(&vm->madv, *lo, *hi - 1); s;
	     s = span_it_iter_next(s, *lo, *hi - 1)) {
		if (s->last < addr)
			*lo = max(*lo, span_end(s));
		else
			*hi = min(*hi, s->start);
	}
}

struct madv_set {
	u32 attr;
	u32 value;
	u32 device;
};

static void madv_set(struct simgpu_madvise_attrs *a, const void *arg)
{
	const struct madv_set *set = arg;

	switch (set->attr) {
	case DRM_SIMGPU_MADV_PREFERRED_LOC:
		a->loc = set->value;
		a->loc_device = set->device;
		break;
	case DRM_SIMGPU_MADV_MIGRATION:
		a->migration = set->value;
		break;
	case DRM_SIMGPU_MADV_ATOMIC:
		a->atomic = set->value;
		break;
	default:
		a->read_mostly = set->value;
		break;
	}
}

/* The device of a preferred-location fd; -errno when there is none. */
static int madv_fd_device(struct simgpu_device *sdev, s32 fd, u32 *device)
{
	struct simgpu_device *other;
	struct drm_file *dfile;
	struct file *f;
	int err = 0;

	if (fd == -1) {
		*device = sdev->id;
		return 0;
	}
	f = fget(fd);
	if (!f)
		return -EBADF;
	dfile = f->private_data;
	if (f->f_op != sdev->drm.driver->fops || !dfile) {
		err = -ENODEV;
		goto out;
	}
	other = to_simgpu_device(dfile->minor->dev);
	*device = other->id;
	/* Another device's VRAM is mapped in place: it needs a link. */
	if (!simgpu_device_linked(sdev, other))
		err = -ENOLINK;
out:
	fput(f);
	return err;
}

static int madv_check(struct simgpu_device *sdev,
		      const struct drm_simgpu_vm_madvise *args,
		      struct madv_set *set)
{
	bool vram = sdev->dmem.enabled;

	set->attr = args->attr;
	set->value = args->value;
	set->device = 0;
	if (args->fd && !(args->attr == DRM_SIMGPU_MADV_PREFERRED_LOC &&
			  args->value == DRM_SIMGPU_MADV_LOC_DEVICE))
		return -EINVAL;

	switch (args->attr) {
	case DRM_SIMGPU_MADV_PREFERRED_LOC:
		if (args->value > DRM_SIMGPU_MADV_LOC_DEVICE)
			return -EINVAL;
		if (args->value != DRM_SIMGPU_MADV_LOC_DEVICE)
			return 0;
		if (!vram)
			return -EOPNOTSUPP;
		return madv_fd_device(sdev, args->fd, &set->device);
	case DRM_SIMGPU_MADV_MIGRATION:
		return args->value > DRM_SIMGPU_MADV_MIGRATE_SYSTEM_PAGES ?
		       -EINVAL : 0;
	case DRM_SIMGPU_MADV_ATOMIC:
		if (args->value > DRM_SIMGPU_MADV_ATOMIC_CPU)
			return -EINVAL;
		if (!simgpu_svm_atomic_hold(sdev) &&
		    (args->value == DRM_SIMGPU_MADV_ATOMIC_DEVICE ||
		     args->value == DRM_SIMGPU_MADV_ATOMIC_GLOBAL))
			return -EOPNOTSUPP;
		return 0;
	case DRM_SIMGPU_MADV_READ_MOSTLY:
		return args->value > 1 ? -EINVAL : 0;
	default:
		return -EINVAL;
	}
}

static bool span_args_ok(u64 start, u64 range)
{
	return IS_ALIGNED(start | range, PAGE_SIZE) &&
	       simgpu_va_range_ok(start, range);
}

/**
 * simgpu_madvise_ioctl() - DRM_IOCTL_SIMGPU_VM_MADVISE
 * @drm: the device
 * @data: &struct drm_simgpu_vm_madvise
 * @file: the caller
 *
 * Return: 0 or a negative errno as documented in the uAPI header.
 */
int simgpu_madvise_ioctl(struct drm_device *drm, void *data,
			    struct drm_file *file)
{
	struct simgpu_device *sdev = to_simgpu_device(drm);
	struct drm_simgpu_vm_madvise *args = data;
	struct simgpu_vm *vm;
	struct madv_set set;
	u64 addr, lo, hi, end;
	int err;

	if (args->extensions || !simgpu_reserved_clear(args->reserved) ||
	    !span_args_ok(args->start, args->range))
		return -EINVAL;
	err = madv_check(sdev, args, &set);
	if (err)
		return err;

	vm = simgpu_vm_lookup(file, args->vm_id);
	if (!vm)
		return -ENOENT;

	end = args->start + args->range;
	mutex_lock(&vm->lock);
	err = -EINVAL;
	if (!vm->svm_active || vm->svm_mm != current->mm)
		goto out;
	for (addr = args->start; addr < end; addr = hi)
		if (!simgpu_vm_mirror_bounds_locked(vm, addr, &lo, &hi))
			goto out;
	simgpu_madvise_gc_locked(vm);
	err = madv_update_locked(vm, args->start, end, madv_set, &set);
out:
	mutex_unlock(&vm->lock);
	simgpu_vm_put(vm);
	return err;
}

#define QUERY_ATTRS_MAX	(1U << 16)

/**
 * simgpu_madvise_query_attrs_ioctl() - DRM_IOCTL_SIMGPU_VM_QUERY_ATTRS
 * @drm: the device
 * @data: &struct drm_simgpu_vm_query_attrs
 * @file: the caller
 *
 * Return: 0 or a negative errno as documented in the uAPI header.
 */
int simgpu_madvise_query_attrs_ioctl(struct drm_device *drm, void *data,
				struct drm_file *file)
{
	struct drm_simgpu_vm_query_attrs *args = data;
	struct drm_simgpu_vm_attr __user *uattrs =
		u64_to_user_ptr(args->attrs);
	struct drm_simgpu_vm_attr *out;
	struct simgpu_vm *vm;
	u32 n = 0, cap;
	u64 pos, end;
	int err = 0;

	if (args->extensions || !simgpu_reserved_clear(args->reserved) ||
	    !span_args_ok(args->start, args->range) ||
	    args->num_attrs > QUERY_ATTRS_MAX)
		return -EINVAL;

	vm = simgpu_vm_lookup(file, args->vm_id);
	if (!vm)
		return -ENOENT;

	/* Spans alternate with gaps: at most twice the spans plus one. */
	mutex_lock(&vm->lock);
	simgpu_madvise_gc_locked(vm);
	cap = args->num_attrs;
	out = cap ? kvcalloc(cap, sizeof(*out), GFP_KERNEL) : NULL;
	if (cap && !out) {
		err = -ENOMEM;
		goto out_unlock;
	}
	end = args->start + args->range;
	for (pos = args->start; pos < end; n++) {
		struct simgpu_madvise_attrs a;
		u64 lo = args->start, hi = end;

		simgpu_madvise_lookup_locked(vm, pos, &a, &lo, &hi);
		if (n < cap) {
			out[n].start = pos;
			out[n].end = hi;
			out[n].preferred_loc = a.loc;
			out[n].preferred_device =
				a.loc == DRM_SIMGPU_MADV_LOC_DEVICE ?
				a.loc_device : 0;
			out[n].migration = a.migration;
			out[n].atomic = a.atomic;
			out[n].read_mostly = a.read_mostly;
		}
		pos = hi;
	}
out_unlock:
	mutex_unlock(&vm->lock);
	simgpu_vm_put(vm);
	if (err)
		return err;

	/* With no room, the caller only asked for the count. */
	if (cap && n > cap)
		err = -ENOSPC;
	else if (cap && copy_to_user(uattrs, out, n * sizeof(*out)))
		err = -EFAULT;
	args->num_attrs = n;
	kvfree(out);
	return err;
}
