// SPDX-License-Identifier: GPL-2.0
/*
 * simgpu: instantiates the SVM core's tracepoints (simgpu_gpusvm_trace.h).
 */

#define CREATE_TRACE_POINTS
#include "simgpu_gpusvm_trace.h"
