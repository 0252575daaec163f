/* SPDX-License-Identifier: GPL-2.0 */
/*
 * simgpu SVM core tracepoints: ranges, migrations and evictions, for
 * ftrace and trace-cmd users (events/simgpu_gpusvm/). The event names
 * are those the core had under events/simgpu/ before it got a system of
 * its own.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM simgpu_gpusvm

#if !defined(_SIMGPU_GPUSVM_TRACE_H_) || defined(TRACE_HEADER_MULTI_READ)
#define _SIMGPU_GPUSVM_TRACE_H_

#include <linux/tracepoint.h>

DECLARE_EVENT_CLASS(simgpu_gpusvm_span,
	TP_PROTO(u64 start, u64 end),
	TP_ARGS(start, end),
	TP_STRUCT__entry(
		__field(u64, start)
		__field(u64, end)
	),
	TP_fast_assign(
		__entry->start = start;
		__entry->end = end;
	),
	TP_printk("start=0x%llx end=0x%llx size=%llu", __entry->start,
		  __entry->end, __entry->end - __entry->start)
);

DEFINE_EVENT(simgpu_gpusvm_span, simgpu_range_create,
	TP_PROTO(u64 start, u64 end),
	TP_ARGS(start, end)
);

DEFINE_EVENT(simgpu_gpusvm_span, simgpu_range_remove,
	TP_PROTO(u64 start, u64 end),
	TP_ARGS(start, end)
);

TRACE_EVENT(simgpu_migrate,
	TP_PROTO(u64 start, unsigned long npages, bool to_vram, u64 usecs),
	TP_ARGS(start, npages, to_vram, usecs),
	TP_STRUCT__entry(
		__field(u64, start)
		__field(unsigned long, npages)
		__field(bool, to_vram)
		__field(u64, usecs)
	),
	TP_fast_assign(
		__entry->start = start;
		__entry->npages = npages;
		__entry->to_vram = to_vram;
		__entry->usecs = usecs;
	),
	TP_printk("start=0x%llx pages=%lu to=%s us=%llu", __entry->start,
		  __entry->npages, __entry->to_vram ? "vram" : "system",
		  __entry->usecs)
);

TRACE_EVENT(simgpu_evict,
	TP_PROTO(unsigned long pfn, unsigned long npages, u64 usecs),
	TP_ARGS(pfn, npages, usecs),
	TP_STRUCT__entry(
		__field(unsigned long, pfn)
		__field(unsigned long, npages)
		__field(u64, usecs)
	),
	TP_fast_assign(
		__entry->pfn = pfn;
		__entry->npages = npages;
		__entry->usecs = usecs;
	),
	TP_printk("pfn=0x%lx pages=%lu us=%llu", __entry->pfn,
		  __entry->npages, __entry->usecs)
);

#endif /* _SIMGPU_GPUSVM_TRACE_H_ */

/* Found through -I$(src)/gpusvm, so the core can be built on its own. */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE simgpu_gpusvm_trace
#include <trace/define_trace.h>
