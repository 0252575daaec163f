/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * simgpu: a simulated GPU with shared virtual memory.
 *
 * This header is the whole contract between the simgpu kernel module and
 * userspace. Rules every ioctl follows:
 *
 * - Structures use fixed-width fields only, pointers are passed as __u64,
 *   every structure is padded explicitly to a multiple of 8 bytes and
 *   starts with an @extensions field that must be 0 for now.
 * - Any flag, pad or reserved field that is not 0, and any value the
 *   kernel does not know, is rejected with -EINVAL. New fields are added
 *   only by giving meaning to a reserved field or through extensions.
 * - Each ioctl lists the errno values it returns. Besides those, every
 *   ioctl can return -EFAULT when a user pointer cannot be read or written.
 */
#ifndef _UAPI_SIMGPU_DRM_H_
#define _UAPI_SIMGPU_DRM_H_

#include "drm.h"

#if defined(__cplusplus)
extern "C" {
#endif

#define DRM_SIMGPU_QUERY		0x00
#define DRM_SIMGPU_GEM_CREATE		0x01
#define DRM_SIMGPU_GEM_MMAP_OFFSET	0x02
#define DRM_SIMGPU_VM_CREATE		0x03
#define DRM_SIMGPU_VM_DESTROY		0x04
#define DRM_SIMGPU_VM_BIND		0x05
#define DRM_SIMGPU_EXEC_QUEUE_CREATE	0x06
#define DRM_SIMGPU_EXEC_QUEUE_DESTROY	0x07
#define DRM_SIMGPU_EXEC_QUEUE_STATE	0x08
#define DRM_SIMGPU_EXEC			0x09
#define DRM_SIMGPU_WAIT_USER_FENCE	0x0a
#define DRM_SIMGPU_VM_QUERY_RANGE	0x0b
#define DRM_SIMGPU_VM_MADVISE		0x0c
#define DRM_SIMGPU_VM_QUERY_ATTRS	0x0d

#define DRM_IOCTL_SIMGPU_QUERY \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_SIMGPU_QUERY, struct drm_simgpu_query)
#define DRM_IOCTL_SIMGPU_GEM_CREATE \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_SIMGPU_GEM_CREATE, \
		 struct drm_simgpu_gem_create)
#define DRM_IOCTL_SIMGPU_GEM_MMAP_OFFSET \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_SIMGPU_GEM_MMAP_OFFSET, \
		 struct drm_simgpu_gem_mmap_offset)
#define DRM_IOCTL_SIMGPU_VM_CREATE \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_SIMGPU_VM_CREATE, \
		 struct drm_simgpu_vm_create)
#define DRM_IOCTL_SIMGPU_VM_DESTROY \
	DRM_IOW(DRM_COMMAND_BASE + DRM_SIMGPU_VM_DESTROY, \
		struct drm_simgpu_vm_destroy)
#define DRM_IOCTL_SIMGPU_VM_BIND \
	DRM_IOW(DRM_COMMAND_BASE + DRM_SIMGPU_VM_BIND, struct drm_simgpu_vm_bind)
#define DRM_IOCTL_SIMGPU_EXEC_QUEUE_CREATE \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_SIMGPU_EXEC_QUEUE_CREATE, \
		 struct drm_simgpu_exec_queue_create)
#define DRM_IOCTL_SIMGPU_EXEC_QUEUE_DESTROY \
	DRM_IOW(DRM_COMMAND_BASE + DRM_SIMGPU_EXEC_QUEUE_DESTROY, \
		struct drm_simgpu_exec_queue_destroy)
#define DRM_IOCTL_SIMGPU_EXEC_QUEUE_STATE \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_SIMGPU_EXEC_QUEUE_STATE, \
		 struct drm_simgpu_exec_queue_state)
#define DRM_IOCTL_SIMGPU_EXEC \
	DRM_IOW(DRM_COMMAND_BASE + DRM_SIMGPU_EXEC, struct drm_simgpu_exec)
#define DRM_IOCTL_SIMGPU_WAIT_USER_FENCE \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_SIMGPU_WAIT_USER_FENCE, \
		 struct drm_simgpu_wait_user_fence)
#define DRM_IOCTL_SIMGPU_VM_QUERY_RANGE \
	DRM_IOW(DRM_COMMAND_BASE + DRM_SIMGPU_VM_QUERY_RANGE, \
		struct drm_simgpu_vm_query_range)
#define DRM_IOCTL_SIMGPU_VM_MADVISE \
	DRM_IOW(DRM_COMMAND_BASE + DRM_SIMGPU_VM_MADVISE, \
		struct drm_simgpu_vm_madvise)
#define DRM_IOCTL_SIMGPU_VM_QUERY_ATTRS \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_SIMGPU_VM_QUERY_ATTRS, \
		 struct drm_simgpu_vm_query_attrs)

/**
 * enum drm_simgpu_engine_class - kinds of engine a device has
 * @DRM_SIMGPU_ENGINE_CLASS_COMPUTE: runs command buffers and compute kernels
 * @DRM_SIMGPU_ENGINE_CLASS_COPY: bulk copies; also used by the kernel for
 *	migration
 */
enum drm_simgpu_engine_class {
	DRM_SIMGPU_ENGINE_CLASS_COMPUTE = 0,
	DRM_SIMGPU_ENGINE_CLASS_COPY = 1,
};

/*
 * Capability bits of &drm_simgpu_query_device.caps. A bit is set only when
 * the loaded module supports the feature on the running kernel.
 *
 * DRM_SIMGPU_CAP_FAULT_MODE: VMs can be created in fault mode, where a GPU
 *	page fault is serviced instead of ending the job.
 * DRM_SIMGPU_CAP_CPU_ADDR_MIRROR: a fault-mode VM can mirror the CPU
 *	address space of the process (shared virtual memory).
 * DRM_SIMGPU_CAP_VRAM_MIGRATION: mirrored memory can migrate to VRAM (GPU
 *	faults, DRM_SIMGPU_VM_BIND_OP_PREFETCH to VRAM); needs a kernel with
 *	CONFIG_DEVICE_PRIVATE. Without it, mirrored memory always stays in
 *	system memory and a PREFETCH to VRAM fails with -EOPNOTSUPP.
 * DRM_SIMGPU_CAP_ATOMIC_HOLD: a GPU atomic can hold a page of system
 *	memory exclusive for the device (MADVISE ATOMIC_DEVICE and
 *	ATOMIC_GLOBAL); needs CONFIG_DEVICE_PRIVATE. Set wherever
 *	DRM_SIMGPU_CAP_VRAM_MIGRATION is, and with the kernel SVM core
 *	(svm_core=kernel), which holds pages without migrating them.
 */
#define DRM_SIMGPU_CAP_FAULT_MODE		(1ULL << 0)
#define DRM_SIMGPU_CAP_CPU_ADDR_MIRROR		(1ULL << 1)
#define DRM_SIMGPU_CAP_VRAM_MIGRATION		(1ULL << 2)
#define DRM_SIMGPU_CAP_ATOMIC_HOLD		(1ULL << 3)

/**
 * struct drm_simgpu_query_device - answer of %DRM_SIMGPU_QUERY_DEVICE
 * @device_id: index of the simulated device, 0 .. num_devices - 1
 * @num_engines: number of engines, all classes together
 * @vram_size: bytes of device memory
 * @caps: DRM_SIMGPU_CAP_* bits
 * @va_bits: width of a GPU virtual address
 * @pad: 0
 * @link_mask: bit i set for each other device i that shares an
 *	interconnect with this one (module parameter link_groups): with
 *	DRM_SIMGPU_CAP_VRAM_MIGRATION, each maps the other's VRAM pages in
 *	place instead of migrating them
 * @reserved: 0
 */
struct drm_simgpu_query_device {
	__u32 device_id;
	__u32 num_engines;
	__u64 vram_size;
	__u64 caps;
	__u32 va_bits;
	__u32 pad;
	__u64 link_mask;
	__u64 reserved[3];
};

/**
 * struct drm_simgpu_engine_info - one engine
 * @engine_class: enum drm_simgpu_engine_class
 * @instance: index within its class
 * @pad: 0
 * @reserved: 0
 */
struct drm_simgpu_engine_info {
	__u16 engine_class;
	__u16 instance;
	__u32 pad;
	__u64 reserved;
};

/**
 * struct drm_simgpu_query_engines - answer of %DRM_SIMGPU_QUERY_ENGINES
 * @num_engines: number of entries in @engines
 * @pad: 0
 * @engines: one entry per engine
 */
struct drm_simgpu_query_engines {
	__u32 num_engines;
	__u32 pad;
	struct drm_simgpu_engine_info engines[];
};

#define DRM_SIMGPU_QUERY_DEVICE		0
#define DRM_SIMGPU_QUERY_ENGINES	1

/**
 * struct drm_simgpu_query - argument of %DRM_IOCTL_SIMGPU_QUERY
 * @extensions: 0
 * @query: DRM_SIMGPU_QUERY_*
 * @flags: 0; no flag is defined yet
 * @data: user pointer to the answer buffer, ignored when @size is 0
 * @size: in: bytes at @data; out: bytes the answer needs. Call with 0 to
 *	learn the size, then again with a buffer of at least that size.
 * @pad: 0
 * @reserved: 0
 *
 * Returns 0 on success, and:
 *
 * -EINVAL: @extensions, @flags, @pad or @reserved not 0, @query unknown,
 *	or @size not 0 and smaller than the answer.
 *
 * -EFAULT: @data cannot be written.
 *
 * -ENOMEM: the kernel could not allocate the answer.
 *
 * -ENODEV: the device was removed (the module unloaded or the device
 *	unbound) while this file was open.
 */
struct drm_simgpu_query {
	__u64 extensions;
	__u32 query;
	__u32 flags;
	__u64 data;
	__u32 size;
	__u32 pad;
	__u64 reserved[2];
};

/*
 * Identifiers: VM and exec queue ids are per file and start at 1; 0 is
 * never a valid id. GPU virtual addresses are below 1 << va_bits; all
 * addresses, offsets and sizes of memory ioctls are multiples of
 * DRM_SIMGPU_PAGE_SIZE unless stated otherwise.
 */
#define DRM_SIMGPU_PAGE_SIZE		4096

/*
 * Memory placements of &drm_simgpu_gem_create.placement and regions of
 * &drm_simgpu_vm_bind_op.region
 */
#define DRM_SIMGPU_MEM_SYSTEM		0
#define DRM_SIMGPU_MEM_VRAM		1

/**
 * struct drm_simgpu_gem_create - argument of %DRM_IOCTL_SIMGPU_GEM_CREATE
 * @extensions: 0
 * @size: bytes, a non-zero multiple of DRM_SIMGPU_PAGE_SIZE
 * @placement: DRM_SIMGPU_MEM_SYSTEM or DRM_SIMGPU_MEM_VRAM
 * @flags: 0
 * @handle: out: GEM handle; released with DRM_IOCTL_GEM_CLOSE
 * @pad: 0
 * @reserved: 0
 *
 * Creates a buffer object whose contents read as zero.
 *
 * -EINVAL: a field is out of range or a reserved field is not 0.
 * -ENOMEM: system memory exhausted.
 * -ENOSPC: not enough free VRAM.
 */
struct drm_simgpu_gem_create {
	__u64 extensions;
	__u64 size;
	__u32 placement;
	__u32 flags;
	__u32 handle;
	__u32 pad;
	__u64 reserved[2];
};

/**
 * struct drm_simgpu_gem_mmap_offset - argument of
 *	%DRM_IOCTL_SIMGPU_GEM_MMAP_OFFSET
 * @extensions: 0
 * @handle: the buffer object
 * @flags: 0
 * @offset: out: pass to mmap(2) on the same fd to map the object
 *	(system and VRAM objects alike), cached; MAP_SHARED only, mmap(2)
 *	fails with EINVAL for a private mapping
 * @reserved: 0
 *
 * -EINVAL: a reserved field is not 0.
 * -ENOENT: no object with that handle.
 */
struct drm_simgpu_gem_mmap_offset {
	__u64 extensions;
	__u32 handle;
	__u32 flags;
	__u64 offset;
	__u64 reserved[2];
};

/*
 * A fault-mode VM services GPU page faults: a job touching an address with
 * no valid translation stalls while the kernel resolves the fault, and
 * fails with -EFAULT only if the fault cannot be resolved (-ENOMEM if the
 * kernel ran out of memory resolving it). Its exec queues
 * are long-running and signal completion with user fences only. In a VM
 * without fault mode a missing translation ends the job at once.
 */
#define DRM_SIMGPU_VM_CREATE_FAULT_MODE	(1 << 0)

/**
 * struct drm_simgpu_vm_create - argument of %DRM_IOCTL_SIMGPU_VM_CREATE
 * @extensions: 0
 * @flags: DRM_SIMGPU_VM_CREATE_*
 * @vm_id: out: the new VM
 * @reserved: 0
 *
 * -EINVAL: unknown flag or reserved field not 0.
 * -EOPNOTSUPP: fault mode asked for on a device without
 *	DRM_SIMGPU_CAP_FAULT_MODE.
 * -ENOMEM: out of memory.
 */
struct drm_simgpu_vm_create {
	__u64 extensions;
	__u32 flags;
	__u32 vm_id;
	__u64 reserved[2];
};

/**
 * struct drm_simgpu_vm_destroy - argument of %DRM_IOCTL_SIMGPU_VM_DESTROY
 * @extensions: 0
 * @vm_id: the VM
 * @pad: 0
 * @reserved: 0
 *
 * Removes the id. A VM that exec queues were created on lives on, its
 * mappings included, until the last of them is destroyed, so their jobs
 * keep running; then everything is unmapped.
 *
 * -EINVAL: reserved field not 0. -ENOENT: no such VM.
 */
struct drm_simgpu_vm_destroy {
	__u64 extensions;
	__u32 vm_id;
	__u32 pad;
	__u64 reserved[2];
};

#define DRM_SIMGPU_VM_BIND_OP_MAP	0
#define DRM_SIMGPU_VM_BIND_OP_UNMAP	1
#define DRM_SIMGPU_VM_BIND_OP_PREFETCH	2

/* The GPU may read but not write or atomically update the mapping. */
#define DRM_SIMGPU_VM_BIND_FLAG_READONLY	(1 << 0)
/*
 * MAP only, with @handle and @obj_offset 0, on a fault-mode VM of a device
 * with DRM_SIMGPU_CAP_CPU_ADDR_MIRROR: [@addr, @addr + @range) of the GPU
 * VA mirrors the same addresses of the calling process (shared virtual
 * memory). GPU page faults map the process's pages on demand, with the
 * permissions of the CPU mapping; a fault on an address the process has
 * not mapped, or maps PROT_NONE, or a write to a read-only mapping, ends
 * the job with -EFAULT. A buffer object mapped inside a mirror takes
 * precedence there; mapping the mirror again restores it, joined with the
 * mirror around it into one mapping, as if it had never been cut (GPU
 * mappings of 2 MiB never cross the edge of a mirror mapping). One VM mirrors
 * one process: the first mirror MAP binds the VM to the caller's address
 * space. A process mirrors its whole address space with one MAP of
 * [0, 1 << &drm_simgpu_query_device.va_bits): the GPU VA covers the CPU's
 * user addresses, and a GPU access above them faults as on an address the
 * process has not mapped.
 *
 * Placement: on a device with DRM_SIMGPU_CAP_VRAM_MIGRATION, a GPU fault on
 * anonymous private memory (malloc, stack, MAP_PRIVATE|MAP_ANONYMOUS)
 * migrates the chunk around the address (2 MiB, 64 KiB or 4 KiB, as the
 * CPU mapping allows) to the device's VRAM, zero-filling pages the process
 * never touched; pages that cannot move (pinned, or locked by a concurrent
 * migration) stay in system memory and are mapped there. File-backed and
 * shared mappings always stay in system memory; the mapping decides, so
 * the pages a MAP_PRIVATE file mapping copied on write stay there too. A CPU access to a page in VRAM migrates its whole chunk
 * back to system memory; the GPU faults it in again on its next access.
 * A chunk the CPU took back from VRAM three times is shared too closely to
 * be worth moving: GPU faults map it in system memory from then on, until
 * the CPU unmaps it (evictions do not count).
 * When VRAM is full, the least recently migrated chunks of any process are
 * evicted to system memory, but a fault does not evict chunks that came in
 * within the last svm_evict_age_ms (module parameter): it maps the pages in
 * system memory instead, as it does when eviction frees nothing. None of
 * this is visible to the process except in timing and in
 * DRM_IOCTL_SIMGPU_VM_QUERY_RANGE.
 */
#define DRM_SIMGPU_VM_BIND_FLAG_CPU_ADDR_MIRROR	(1 << 1)

/**
 * struct drm_simgpu_vm_bind_op - one operation of a VM_BIND
 * @extensions: 0
 * @op: DRM_SIMGPU_VM_BIND_OP_*
 * @flags: DRM_SIMGPU_VM_BIND_FLAG_*; MAP only
 * @handle: MAP: the buffer object; UNMAP, PREFETCH: 0
 * @region: PREFETCH: DRM_SIMGPU_MEM_SYSTEM or DRM_SIMGPU_MEM_VRAM (the
 *	device of the VM); MAP, UNMAP: 0
 * @obj_offset: MAP: offset into the object; UNMAP, PREFETCH: 0
 * @addr: GPU virtual address
 * @range: bytes, non-zero; MAP: @obj_offset + @range within the object
 * @reserved: 0
 *
 * MAP replaces whatever was mapped in [@addr, @addr + @range); UNMAP
 * removes it, splitting mappings that straddle either end. Unmapping an
 * empty range is not an error. Translations removed by an operation are
 * gone from every engine's TLB before the ioctl returns.
 *
 * A CPU_ADDR_MIRROR MAP is rejected with -EINVAL on a VM without fault
 * mode, with READONLY, with a handle or offset, or from a process other
 * than the one the VM already mirrors.
 *
 * PREFETCH applies to a span that lies entirely in CPU_ADDR_MIRROR
 * mappings of the VM and must come from the process the VM mirrors: it
 * moves the pages of the span to @region ahead of GPU access, as a GPU
 * fault would (see DRM_SIMGPU_VM_BIND_FLAG_CPU_ADDR_MIRROR; to VRAM only
 * for anonymous private memory), faulting in pages the process has not
 * touched yet, and maps them on the GPU, so that GPU accesses to the span
 * take no page fault. A prefetch to system memory brings pages in VRAM
 * back. Pages that cannot be moved stay where they are and are mapped
 * there: the placement is a best effort, the mapping is not. It fails with
 * -EINVAL when the span is not all mirrored or the VM mirrors another
 * process, -EOPNOTSUPP for VRAM on a device without
 * DRM_SIMGPU_CAP_VRAM_MIGRATION, -EFAULT when a page of the span is not
 * mapped by the process, is PROT_NONE or cannot be faulted in.
 */
struct drm_simgpu_vm_bind_op {
	__u64 extensions;
	__u32 op;
	__u32 flags;
	__u32 handle;
	__u32 region;
	__u64 obj_offset;
	__u64 addr;
	__u64 range;
	__u64 reserved[2];
};

#define DRM_SIMGPU_SYNC_SYNCOBJ		0
#define DRM_SIMGPU_SYNC_USER_FENCE	1

/* Set: the sync is signalled by the operation; clear: waited for first. */
#define DRM_SIMGPU_SYNC_FLAG_SIGNAL	(1 << 0)
/* USER_FENCE only: @handle is an eventfd, signalled after the write. */
#define DRM_SIMGPU_SYNC_FLAG_EVENTFD	(1 << 1)
/* USER_FENCE of EXEC only: also written when the job failed, with its status. */
#define DRM_SIMGPU_SYNC_FLAG_STATUS	(1 << 2)

/**
 * struct drm_simgpu_sync - an in- or out-fence of VM_BIND or EXEC
 * @extensions: 0
 * @type: DRM_SIMGPU_SYNC_*
 * @flags: DRM_SIMGPU_SYNC_FLAG_*
 * @handle: SYNCOBJ: the syncobj. USER_FENCE: 0, or with
 *	DRM_SIMGPU_SYNC_FLAG_EVENTFD an eventfd file descriptor of the caller
 * @pad: 0
 * @addr: USER_FENCE: 8-byte aligned address that receives @value when the
 *	operation completed. For EXEC it is a GPU virtual address in the
 *	queue's VM, written by the engine; for VM_BIND it is a CPU address
 *	of the calling process. SYNCOBJ: 0
 * @value: USER_FENCE: the 64-bit value written. SYNCOBJ: 0
 * @reserved: 0
 *
 * A user fence is always an out-fence (DRM_SIMGPU_SYNC_FLAG_SIGNAL set),
 * with a non-zero, 8-byte aligned @addr; it is written only when the
 * operation succeeded. A syncobj without the flag is an in-fence; with it,
 * the syncobj's fence is replaced by one that signals when the operation
 * completed, with the job's error if it failed.
 *
 * With DRM_SIMGPU_SYNC_FLAG_EVENTFD (user fences only), the eventfd @handle
 * is signalled (its counter incremented by 1) right after @value was
 * written, so it becomes readable, and pollable, once the value is
 * visible: many user fences can be waited for with poll(2), epoll or
 * io_uring instead of one DRM_IOCTL_SIMGPU_WAIT_USER_FENCE each. Like the
 * value, it is signalled only when the operation succeeded: a failed job
 * is seen through DRM_IOCTL_SIMGPU_EXEC_QUEUE_STATE. The ioctl takes its
 * own reference to the eventfd, so the descriptor may be closed once the
 * ioctl returned. Errors: -EBADF when @handle is not an open file
 * descriptor, -EINVAL when it is not an eventfd or when the flag is set
 * on a SYNCOBJ.
 *
 * With DRM_SIMGPU_SYNC_FLAG_STATUS (user fences of EXEC only) the fence is
 * the job's own completion record, 16 bytes at @addr: when the job ended,
 * whether it succeeded or failed, the engine writes the job's status as
 * a __s64 at @addr + 8 (0, or the negative errno the job ended with, one
 * of those &struct drm_simgpu_exec_queue_state lists), then @value at
 * @addr, then signals the eventfd if there is one. A waiter that saw
 * @value (DRM_IOCTL_SIMGPU_WAIT_USER_FENCE, or a load with acquire
 * ordering) reads the status after it: on a queue with many jobs in
 * flight each job tells its own outcome, where
 * DRM_IOCTL_SIMGPU_EXEC_QUEUE_STATE keeps only the last failure. A failed
 * job writes its status fences (only those: its plain user fences stay
 * unwritten) through the GPU MMU like any access, so their pages may
 * fault; it gets a new job timeout for that, and ends without writing a
 * status fence whose page cannot be mapped (the memory is gone) or when
 * its queue is destroyed (-ECANCELED). A status fence already written
 * with status 0 is not written again if a later user fence of the same
 * job fails to be written. Errors: -EINVAL when the flag is set on a
 * SYNCOBJ, on a sync of VM_BIND, or with @addr above 2^64 - 16.
 */
struct drm_simgpu_sync {
	__u64 extensions;
	__u32 type;
	__u32 flags;
	__u32 handle;
	__u32 pad;
	__u64 addr;
	__u64 value;
	__u64 reserved[2];
};

/**
 * struct drm_simgpu_vm_bind - argument of %DRM_IOCTL_SIMGPU_VM_BIND
 * @extensions: 0
 * @vm_id: the VM
 * @num_binds: entries at @binds, 1 to 512
 * @binds: user pointer to an array of &struct drm_simgpu_vm_bind_op
 * @num_syncs: entries at @syncs, 0 to 64
 * @pad: 0
 * @syncs: user pointer to an array of &struct drm_simgpu_sync
 * @reserved: 0
 *
 * Every operation is validated before any is applied; then the in-fences
 * are waited for and the operations applied in order before the ioctl
 * returns, after which the out-fences signal.
 *
 * -EINVAL: a field of the bind, of an operation or of a sync is invalid,
 *	or a user fence's eventfd is not an eventfd.
 * -EBADF: a user fence's eventfd is not an open file descriptor.
 * -ENOENT: no such VM, buffer object or syncobj.
 * -ENOMEM: out of memory; operations before the failing one are applied.
 * -EOPNOTSUPP, -EFAULT: a PREFETCH failed (see &drm_simgpu_vm_bind_op);
 *	operations before it are applied.
 * -EAGAIN: the pages of a PREFETCH kept being invalidated by the process
 *	while they were moved (try again); operations before it are applied.
 * -EINTR, -ERESTARTSYS: a signal arrived while waiting for an in-fence
 *	(nothing was applied), or while a mirror MAP or a PREFETCH set up the
 *	device's VRAM or registered with the process's address space
 *	(operations before it are applied).
 */
struct drm_simgpu_vm_bind {
	__u64 extensions;
	__u32 vm_id;
	__u32 num_binds;
	__u64 binds;
	__u32 num_syncs;
	__u32 pad;
	__u64 syncs;
	__u64 reserved[2];
};

/**
 * struct drm_simgpu_exec_queue_create - argument of
 *	%DRM_IOCTL_SIMGPU_EXEC_QUEUE_CREATE
 * @extensions: 0
 * @vm_id: the VM the queue's jobs run in
 * @engine_class: enum drm_simgpu_engine_class
 * @engine_instance: engine within the class
 * @flags: 0
 * @exec_queue_id: out: the new queue
 * @reserved: 0
 *
 * Jobs of one queue run in submission order; queues sharing an engine are
 * time-sliced and preempted at command boundaries.
 *
 * -EINVAL: unknown engine or a reserved field not 0. -ENOENT: no such VM.
 * -ENOMEM: out of memory.
 */
struct drm_simgpu_exec_queue_create {
	__u64 extensions;
	__u32 vm_id;
	__u16 engine_class;
	__u16 engine_instance;
	__u32 flags;
	__u32 exec_queue_id;
	__u64 reserved[2];
};

/**
 * struct drm_simgpu_exec_queue_destroy - argument of
 *	%DRM_IOCTL_SIMGPU_EXEC_QUEUE_DESTROY
 * @extensions: 0
 * @exec_queue_id: the queue; jobs not yet complete are cancelled
 * @pad: 0
 * @reserved: 0
 *
 * -EINVAL: a reserved field not 0. -ENOENT: no such queue.
 */
struct drm_simgpu_exec_queue_destroy {
	__u64 extensions;
	__u32 exec_queue_id;
	__u32 pad;
	__u64 reserved[2];
};

/**
 * struct drm_simgpu_exec_queue_state - argument of
 *	%DRM_IOCTL_SIMGPU_EXEC_QUEUE_STATE
 * @extensions: 0
 * @exec_queue_id: the queue
 * @flags: 0
 * @error: out: 0, or the error that ended the queue's last failed job:
 *	-EFAULT (page fault not resolved, or fatal in a VM without fault
 *	mode), -ENOMEM (the kernel could not allocate what resolving a page
 *	fault took), -ETIMEDOUT (ran longer than the job timeout), -EILSEQ
 *	(invalid command), -ECANCELED (queue being destroyed)
 * @pad: 0
 * @fault_addr: out: with -EFAULT, the GPU virtual address (the byte) that
 *	faulted
 * @jobs_submitted: out: jobs accepted by EXEC
 * @jobs_completed: out: jobs that ended, failed ones included
 * @jobs_failed: out: jobs that ended with an error
 * @reserved: 0
 *
 * A failed job resets only its queue: later jobs of the queue run.
 * @error and @fault_addr keep describing the last failed job until
 * another job fails.
 *
 * -EINVAL: a reserved field not 0. -ENOENT: no such queue.
 */
struct drm_simgpu_exec_queue_state {
	__u64 extensions;
	__u32 exec_queue_id;
	__u32 flags;
	__s32 error;
	__u32 pad;
	__u64 fault_addr;
	__u64 jobs_submitted;
	__u64 jobs_completed;
	__u64 jobs_failed;
	__u64 reserved[2];
};

/**
 * struct drm_simgpu_exec - argument of %DRM_IOCTL_SIMGPU_EXEC
 * @extensions: 0
 * @exec_queue_id: the queue
 * @num_syncs: entries at @syncs, 0 to 64
 * @syncs: user pointer to an array of &struct drm_simgpu_sync
 * @address: GPU virtual address of the batch, 4-byte aligned
 * @reserved: 0
 *
 * Queues the batch; it runs once every in-fence signalled. Queues of a VM
 * without fault mode may have syncobj out-fences, which carry the job's
 * error; queues of a fault-mode VM take user fences only, because a job
 * that can fault must not publish a dma-fence.
 *
 * A fault-mode queue's syncobj in-fences are waited for by EXEC itself.
 * Every engine, compute or copy, executes the whole ISA. Commands of a
 * batch before a failing command keep their effect.
 *
 * -EINVAL: a field is invalid, a user fence's eventfd is not an eventfd,
 *	or a syncobj out-fence on a fault-mode queue. -EBADF: a user fence's
 *	eventfd is not an open file descriptor. -ENOENT: no such queue or
 *	syncobj. -ENOMEM: out of memory.
 *	-EINTR, -ERESTARTSYS: interrupted waiting for an in-fence (fault
 *	mode).
 */
struct drm_simgpu_exec {
	__u64 extensions;
	__u32 exec_queue_id;
	__u32 num_syncs;
	__u64 syncs;
	__u64 address;
	__u64 reserved[2];
};

/* Compare operations of WAIT_USER_FENCE and of the WAIT command */
#define DRM_SIMGPU_CMP_EQ		0
#define DRM_SIMGPU_CMP_NEQ		1
#define DRM_SIMGPU_CMP_GT		2
#define DRM_SIMGPU_CMP_GTE		3
#define DRM_SIMGPU_CMP_LT		4
#define DRM_SIMGPU_CMP_LTE		5

/**
 * struct drm_simgpu_wait_user_fence - argument of
 *	%DRM_IOCTL_SIMGPU_WAIT_USER_FENCE
 * @extensions: 0
 * @addr: CPU address of a 64-bit value, 8-byte aligned
 * @op: DRM_SIMGPU_CMP_*: wait until (*@addr & @mask) op (@value & @mask),
 *	unsigned
 * @flags: 0
 * @value: the value compared with
 * @mask: bits compared
 * @timeout_ns: relative timeout; negative waits without limit
 * @exec_queue_id: 0, or a queue: the wait ends with -EIO as soon as a job
 *	of that queue fails
 * @pad: 0
 * @reserved: 0
 *
 * -EINVAL: a field is invalid, @addr 0 or not 8-byte aligned. -ENOENT: no
 * such queue (0 is none). -ETIME: timed out. -EIO: a job of
 * @exec_queue_id failed after the wait started. -EINTR, -ERESTARTSYS:
 * interrupted. -EFAULT: @addr cannot be read.
 */
struct drm_simgpu_wait_user_fence {
	__u64 extensions;
	__u64 addr;
	__u32 op;
	__u32 flags;
	__u64 value;
	__u64 mask;
	__s64 timeout_ns;
	__u32 exec_queue_id;
	__u32 pad;
	__u64 reserved[2];
};

/*
 * The command ISA.
 *
 * A batch is an array of little-endian 32-bit dwords in GPU virtual memory,
 * read through the GPU MMU like every other access. Each command starts
 * with a header dword:
 *
 *   bits 31..24  opcode (DRM_SIMGPU_OP_*)
 *   bits 23..16  sub-operation or flags, per opcode (0 where unused)
 *   bits 15..0   length of the command in dwords, header included; must be
 *                the length given below
 *
 * followed by its operands; 64-bit operands are two dwords, low first.
 * Addresses are GPU virtual addresses. Dword and qword accesses must be
 * naturally aligned. A command that breaks a rule ends the job with
 * -EILSEQ; an access that cannot be translated faults (see the VM flags).
 * The engine may be preempted between commands and between workgroups of
 * a LAUNCH; a command stalled on a page fault resumes where it stopped.
 */
#define DRM_SIMGPU_CMD(op, sub, len) \
	(((__u32)(op) << 24) | ((__u32)(sub) << 16) | (__u32)(len))

/* NOP: no operands. Length 1. */
#define DRM_SIMGPU_OP_NOP		0x00
/* STORE_DW addr(64) value(32): write a dword. Length 4. */
#define DRM_SIMGPU_OP_STORE_DW		0x01
/* STORE_QW addr(64) value(64): write a qword. Length 5. */
#define DRM_SIMGPU_OP_STORE_QW		0x02
/* FILL addr(64) size(64) pattern(32): dword-fill size bytes; addr and size 4-byte aligned. Length 6. */
#define DRM_SIMGPU_OP_FILL		0x03
/* COPY dst(64) src(64) size(64): copy bytes, any alignment; no overlap. Length 7. */
#define DRM_SIMGPU_OP_COPY		0x04
/*
 * ATOMIC addr(64) operand(64) compare(64) ret(64): one atomic
 * read-modify-write of the qword (or dword with DRM_SIMGPU_ATOMIC_32) at
 * addr; the old value is written to ret (a qword, or a dword for
 * DRM_SIMGPU_ATOMIC_32) unless ret is 0. Length 9.
 * Sub-operation DRM_SIMGPU_ATOMIC_* in bits 22..16, width flag in bit 23.
 */
#define DRM_SIMGPU_OP_ATOMIC		0x05
#define   DRM_SIMGPU_ATOMIC_ADD		0x00	/* *addr += operand */
#define   DRM_SIMGPU_ATOMIC_INC		0x01	/* *addr += 1 */
#define   DRM_SIMGPU_ATOMIC_CMPXCHG	0x02	/* if == compare: = operand */
#define   DRM_SIMGPU_ATOMIC_XCHG	0x03	/* *addr = operand */
#define   DRM_SIMGPU_ATOMIC_32		0x80	/* dword instead of qword */
/*
 * WAIT addr(64) value(64) mask(64) timeout_us(32): stall the queue until
 * (*addr & mask) op (value & mask), op in bits 23..16 (DRM_SIMGPU_CMP_*).
 * timeout_us 0 waits until the job timeout; otherwise the job fails with
 * -ETIMEDOUT when the condition is still false after timeout_us. Length 8.
 */
#define DRM_SIMGPU_OP_WAIT		0x06
/* SIGNAL addr(64) value(64): write a qword user fence and wake waiters. Length 5. */
#define DRM_SIMGPU_OP_SIGNAL		0x07
/* BATCH_START addr(64): continue at addr (chaining). Length 3. */
#define DRM_SIMGPU_OP_BATCH_START	0x08
/* BATCH_END: the job is complete. Length 1. */
#define DRM_SIMGPU_OP_BATCH_END		0x09
/*
 * LAUNCH args(64) workgroup(32): run built-in kernel DRM_SIMGPU_KERNEL_*
 * (bits 23..16) with the argument block at args (8-byte aligned);
 * elements are processed in workgroups of that many elements (0: 64, at
 * most 4096), the unit of preemption. Arrays of 32-bit elements must be
 * 4-byte aligned and 64-bit results 8-byte aligned, or the job fails with
 * -EILSEQ. Length 4.
 */
#define DRM_SIMGPU_OP_LAUNCH		0x0a

#define DRM_SIMGPU_KERNEL_MEMSET	0x00	/* drm_simgpu_kargs_memset */
#define DRM_SIMGPU_KERNEL_COPY		0x01	/* drm_simgpu_kargs_copy */
#define DRM_SIMGPU_KERNEL_ADD		0x02	/* drm_simgpu_kargs_add */
#define DRM_SIMGPU_KERNEL_SAXPY		0x03	/* drm_simgpu_kargs_saxpy */
#define DRM_SIMGPU_KERNEL_REDUCE_SUM	0x04	/* drm_simgpu_kargs_reduce */
#define DRM_SIMGPU_KERNEL_GATHER	0x05	/* drm_simgpu_kargs_gather */
#define DRM_SIMGPU_KERNEL_HISTOGRAM	0x06	/* drm_simgpu_kargs_histogram */
#define DRM_SIMGPU_KERNEL_LIST_SUM	0x07	/* drm_simgpu_kargs_list_sum */

/* dst[i] = value, i < count; 32-bit elements */
struct drm_simgpu_kargs_memset {
	__u64 dst;
	__u64 count;
	__u32 value;
	__u32 pad;
};

/* dst[i] = src[i], i < count; 32-bit elements */
struct drm_simgpu_kargs_copy {
	__u64 dst;
	__u64 src;
	__u64 count;
};

/* c[i] = a[i] + b[i], i < count; 32-bit unsigned, wrapping */
struct drm_simgpu_kargs_add {
	__u64 a;
	__u64 b;
	__u64 c;
	__u64 count;
};

/* y[i] = a * x[i] + y[i], i < count; IEEE binary32 */
struct drm_simgpu_kargs_saxpy {
	__u64 x;
	__u64 y;
	__u64 count;
	__u32 a;	/* the bits of a float */
	__u32 pad;
};

/* *dst = sum of src[i], i < count; 32-bit unsigned elements, 64-bit sum */
struct drm_simgpu_kargs_reduce {
	__u64 src;
	__u64 dst;
	__u64 count;
};

/* dst[i] = src[idx[i]], i < count; 32-bit elements and indices */
struct drm_simgpu_kargs_gather {
	__u64 dst;
	__u64 src;
	__u64 idx;
	__u64 count;
};

/* atomically bins[src[i] % num_bins] += 1, i < count; 32-bit values and bins */
struct drm_simgpu_kargs_histogram {
	__u64 src;
	__u64 bins;
	__u64 count;
	__u32 num_bins;
	__u32 pad;
};

/*
 * Walk a linked list of struct drm_simgpu_list_node from head, following
 * next until 0; store the sum of the values into *dst (64-bit) and the
 * number of nodes into *count_out (64-bit). More than max_nodes nodes fail
 * the job with -EILSEQ (a cycle).
 */
struct drm_simgpu_kargs_list_sum {
	__u64 head;
	__u64 dst;
	__u64 count_out;
	__u64 max_nodes;
};

struct drm_simgpu_list_node {
	__u64 next;
	__u64 value;
};

/* Per-page answer of VM_QUERY_RANGE */
#define DRM_SIMGPU_PAGE_MAPPED		(1 << 0)	/* the GPU has a translation */
#define DRM_SIMGPU_PAGE_WRITE		(1 << 1)	/* writable */
#define DRM_SIMGPU_PAGE_ATOMIC		(1 << 2)	/* atomics allowed */
#define DRM_SIMGPU_PAGE_VRAM		(1 << 3)	/* in VRAM, else system memory */
#define DRM_SIMGPU_PAGE_HUGE		(1 << 4)	/* mapped by a 2 MiB entry */
#define DRM_SIMGPU_PAGE_EXCLUSIVE	(1 << 5)	/* system page held exclusive for GPU atomics */
#define DRM_SIMGPU_PAGE_DEVICE_SHIFT	8		/* bits 15..8: device of the VRAM */

/**
 * struct drm_simgpu_vm_query_range - argument of
 *	%DRM_IOCTL_SIMGPU_VM_QUERY_RANGE
 * @extensions: 0
 * @vm_id: the VM
 * @flags: 0
 * @start: GPU virtual address of the first page, page aligned
 * @num_pages: pages to report, 1 to 1 << 20, within the VA space
 * @pages: user pointer to @num_pages __u32 receiving DRM_SIMGPU_PAGE_*
 * @reserved: 0
 *
 * Reports how the GPU maps each page right now, as the engines would
 * translate it (a snapshot: faults and invalidations change it).
 *
 * -EINVAL: a field is invalid. -ENOENT: no such VM. -EFAULT: @pages
 * cannot be written.
 */
struct drm_simgpu_vm_query_range {
	__u64 extensions;
	__u32 vm_id;
	__u32 flags;
	__u64 start;
	__u64 num_pages;
	__u64 pages;
	__u64 reserved[2];
};

/* Attributes of DRM_IOCTL_SIMGPU_VM_MADVISE */
#define DRM_SIMGPU_MADV_PREFERRED_LOC	0
#define DRM_SIMGPU_MADV_MIGRATION	1
#define DRM_SIMGPU_MADV_ATOMIC		2
#define DRM_SIMGPU_MADV_READ_MOSTLY	3

/* Values of DRM_SIMGPU_MADV_PREFERRED_LOC */
#define DRM_SIMGPU_MADV_LOC_DEFAULT	0	/* the placement policy of the mirror */
#define DRM_SIMGPU_MADV_LOC_SYSTEM	1	/* system memory */
#define DRM_SIMGPU_MADV_LOC_DEVICE	2	/* VRAM of the device of @fd */

/* Values of DRM_SIMGPU_MADV_MIGRATION */
#define DRM_SIMGPU_MADV_MIGRATE_ALL_PAGES	0	/* default */
#define DRM_SIMGPU_MADV_MIGRATE_SYSTEM_PAGES	1

/* Values of DRM_SIMGPU_MADV_ATOMIC */
#define DRM_SIMGPU_MADV_ATOMIC_DEFAULT	0
#define DRM_SIMGPU_MADV_ATOMIC_DEVICE	1
#define DRM_SIMGPU_MADV_ATOMIC_GLOBAL	2
#define DRM_SIMGPU_MADV_ATOMIC_CPU	3

/**
 * struct drm_simgpu_vm_madvise - argument of %DRM_IOCTL_SIMGPU_VM_MADVISE
 * @extensions: 0
 * @vm_id: the VM
 * @attr: DRM_SIMGPU_MADV_*
 * @start: first GPU virtual address, page aligned
 * @range: bytes, page aligned, non-zero
 * @value: the attribute's new value (see below)
 * @fd: PREFERRED_LOC with LOC_DEVICE: an open simgpu file of the device
 *	whose VRAM is preferred, or -1 for the VM's own device; otherwise 0
 * @reserved: 0
 *
 * Sets one attribute of the SVM memory in [@start, @start + @range), a span
 * that must lie in CPU_ADDR_MIRROR mappings of a VM that mirrors the
 * caller. Attributes guide what GPU faults do; they move nothing by
 * themselves (a PREFETCH does), and a fault applies them to the pages it
 * finds, wherever they are. Attributes split and merge with the spans
 * they are set on, and are reset to their defaults where the process
 * unmaps the memory (munmap, mremap away), so a new mapping at the same
 * address starts with the defaults.
 *
 * PREFERRED_LOC: LOC_DEFAULT: the mirror's placement policy (see
 * DRM_SIMGPU_VM_BIND_FLAG_CPU_ADDR_MIRROR). LOC_SYSTEM: GPU faults map
 * the pages in system memory, bringing back pages that sit in VRAM.
 * LOC_DEVICE: GPU faults migrate anonymous private memory to that VRAM
 * every time (no thrashing limit); a device other than the VM's own needs
 * an interconnect to it (&drm_simgpu_query_device.link_mask), or
 * -ENOLINK: its VRAM is then mapped in place over the link. Once that
 * device has left the driver (sysfs unbind), nothing migrates to it: GPU
 * faults map the memory where it is.
 *
 * MIGRATION: where the GPU fault migrates to VRAM, MIGRATE_ALL_PAGES
 * migrates every page of a faulting range there: pages in the VRAM of a
 * device without a link to the faulting one come through system memory in
 * the same fault; with PREFERRED_LOC LOC_DEVICE, pages in a linked
 * device's VRAM move device to device. MIGRATE_SYSTEM_PAGES migrates only
 * the pages that are in system memory when the fault comes; the others
 * are mapped in place when they sit in a linked device's VRAM, and in
 * system memory otherwise. Without LOC_DEVICE, pages in a linked device's
 * VRAM are always mapped in place. With a single device the two are the
 * same.
 *
 * ATOMIC: how a GPU atomic is served: every atomic access of the GPU, the
 * ATOMIC command's (DRM_SIMGPU_OP_ATOMIC) and the built-in kernels' (the
 * increments of DRM_SIMGPU_KERNEL_HISTOGRAM) alike.
 * ATOMIC_DEFAULT: in place, wherever the page is (the simulated link to
 * system memory is coherent). ATOMIC_DEVICE: the page must be in VRAM or
 * held exclusive by the device: an atomic fault migrates anonymous memory
 * to VRAM, and takes pages that cannot move exclusive
 * (make_device_exclusive_range(); a CPU access revokes it); on file-backed
 * or shared memory it fails the job with -EFAULT. ATOMIC_GLOBAL: GPU and
 * CPU atomics on the same memory are both correct at any time: a GPU
 * atomic fault takes the pages exclusive in system memory rather than
 * migrating them, bringing back pages that sit in VRAM (a CPU access
 * revokes that and the GPU faults again); file-backed and shared memory
 * is served in place. ATOMIC_CPU: GPU atomics fail the job with -EFAULT; only the CPU
 * may operate atomically. DEVICE and GLOBAL split 2 MiB THP mappings as
 * needed.
 *
 * READ_MOSTLY: @value 1 or 0. A GPU read fault maps the pages where they
 * are, migrating nothing, so CPU reads of the memory stay cheap; writes and
 * atomics follow the other attributes.
 *
 * -EINVAL: a field is invalid, the span is not all mirrored, or the VM
 * mirrors another process. -ENOENT: no such VM. -EBADF: @fd is not an
 * open file. -ENODEV: @fd is not a simgpu file. -ENOLINK: @fd is another
 * device without an interconnect to this one. -EOPNOTSUPP: LOC_DEVICE on
 * a device without DRM_SIMGPU_CAP_VRAM_MIGRATION; ATOMIC_DEVICE or
 * ATOMIC_GLOBAL on a device without DRM_SIMGPU_CAP_ATOMIC_HOLD. -ENOMEM,
 * -EINTR (a signal arrived while the span registered with the process's
 * address space): the span may have its default attributes; set them
 * again.
 */
struct drm_simgpu_vm_madvise {
	__u64 extensions;
	__u32 vm_id;
	__u32 attr;
	__u64 start;
	__u64 range;
	__u32 value;
	__s32 fd;
	__u64 reserved[2];
};

/**
 * struct drm_simgpu_vm_attr - the attributes of one span
 * @start: first address
 * @end: end of the span
 * @preferred_loc: DRM_SIMGPU_MADV_LOC_*
 * @preferred_device: LOC_DEVICE: index of the device; otherwise 0
 * @migration: DRM_SIMGPU_MADV_MIGRATE_*
 * @atomic: DRM_SIMGPU_MADV_ATOMIC_*
 * @read_mostly: 0 or 1
 * @pad: 0
 */
struct drm_simgpu_vm_attr {
	__u64 start;
	__u64 end;
	__u32 preferred_loc;
	__u32 preferred_device;
	__u32 migration;
	__u32 atomic;
	__u32 read_mostly;
	__u32 pad;
};

/**
 * struct drm_simgpu_vm_query_attrs - argument of
 *	%DRM_IOCTL_SIMGPU_VM_QUERY_ATTRS
 * @extensions: 0
 * @vm_id: the VM
 * @num_attrs: in: entries at @attrs (0: just count); out: spans in the
 *	answer
 * @start: first GPU virtual address, page aligned
 * @range: bytes, page aligned, non-zero
 * @attrs: user pointer to @num_attrs &struct drm_simgpu_vm_attr
 * @reserved: 0
 *
 * Describes [@start, @start + @range) as consecutive spans of equal
 * attributes, covering it exactly (spans with all defaults included),
 * adjacent spans always differing.
 *
 * -EINVAL: a field is invalid. -ENOENT: no such VM. -ENOSPC: more spans
 * than @num_attrs (which then holds the number needed). -EFAULT: @attrs
 * cannot be written.
 */
struct drm_simgpu_vm_query_attrs {
	__u64 extensions;
	__u32 vm_id;
	__u32 num_attrs;
	__u64 start;
	__u64 range;
	__u64 attrs;
	__u64 reserved[2];
};

#if defined(__cplusplus)
}
#endif

#endif /* _UAPI_SIMGPU_DRM_H_ */
