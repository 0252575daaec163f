/* SPDX-License-Identifier: GPL-2.0 */
/*
 * simgpu tracepoints: GPU faults, invalidations of SVM ranges and jobs,
 * for ftrace and trace-cmd users (events/simgpu/). The SVM core's own
 * (ranges, migrations, evictions) are in gpusvm/simgpu_gpusvm_trace.h.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM simgpu

#if !defined(_SIMGPU_TRACE_H_) || defined(TRACE_HEADER_MULTI_READ)
#define _SIMGPU_TRACE_H_

#include <linux/tracepoint.h>

TRACE_EVENT(simgpu_fault,
	TP_PROTO(u32 dev, u32 queue, u64 addr, int access),
	TP_ARGS(dev, queue, addr, access),
	TP_STRUCT__entry(
		__field(u32, dev)
		__field(u32, queue)
		__field(u64, addr)
		__field(int, access)
	),
	TP_fast_assign(
		__entry->dev = dev;
		__entry->queue = queue;
		__entry->addr = addr;
		__entry->access = access;
	),
	TP_printk("dev=%u queue=%u addr=0x%llx access=%s", __entry->dev,
		  __entry->queue, __entry->addr,
		  __print_symbolic(__entry->access, { 0, "read" },
				   { 1, "write" }, { 2, "atomic" }))
);

TRACE_EVENT(simgpu_fault_done,
	TP_PROTO(u32 dev, u32 queue, u64 addr, bool retry, u64 usecs),
	TP_ARGS(dev, queue, addr, retry, usecs),
	TP_STRUCT__entry(
		__field(u32, dev)
		__field(u32, queue)
		__field(u64, addr)
		__field(bool, retry)
		__field(u64, usecs)
	),
	TP_fast_assign(
		__entry->dev = dev;
		__entry->queue = queue;
		__entry->addr = addr;
		__entry->retry = retry;
		__entry->usecs = usecs;
	),
	TP_printk("dev=%u queue=%u addr=0x%llx reply=%s us=%llu",
		  __entry->dev, __entry->queue, __entry->addr,
		  __entry->retry ? "retry" : "cancel", __entry->usecs)
);

DECLARE_EVENT_CLASS(simgpu_span,
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

DEFINE_EVENT(simgpu_span, simgpu_invalidate,
	TP_PROTO(u64 start, u64 end),
	TP_ARGS(start, end)
);

/* The kernel SVM backend's ranges (drm_gpusvm has no tracepoints). */
DEFINE_EVENT(simgpu_span, simgpu_svm_range_create,
	TP_PROTO(u64 start, u64 end),
	TP_ARGS(start, end)
);

DEFINE_EVENT(simgpu_span, simgpu_svm_range_remove,
	TP_PROTO(u64 start, u64 end),
	TP_ARGS(start, end)
);

TRACE_EVENT(simgpu_job_end,
	TP_PROTO(u32 dev, u32 queue, int error),
	TP_ARGS(dev, queue, error),
	TP_STRUCT__entry(
		__field(u32, dev)
		__field(u32, queue)
		__field(int, error)
	),
	TP_fast_assign(
		__entry->dev = dev;
		__entry->queue = queue;
		__entry->error = error;
	),
	TP_printk("dev=%u queue=%u error=%d", __entry->dev, __entry->queue,
		  __entry->error)
);

#endif /* _SIMGPU_TRACE_H_ */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE simgpu_trace
#include <trace/define_trace.h>
