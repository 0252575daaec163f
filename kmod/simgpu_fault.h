/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SIMGPU_FAULT_H_
#define _SIMGPU_FAULT_H_

struct work_struct;

void simgpu_fault_work(struct work_struct *work);

#endif /* _SIMGPU_FAULT_H_ */
