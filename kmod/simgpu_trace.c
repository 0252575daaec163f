// SPDX-License-Identifier: GPL-2.0
/*
 * simgpu: instantiates the tracepoints declared in simgpu_trace.h.
 */

#define CREATE_TRACE_POINTS
#include "simgpu_trace.h"
