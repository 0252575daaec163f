/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SIMGPU_SVM_KERNEL_MIGRATE_H_
#define _SIMGPU_SVM_KERNEL_MIGRATE_H_

#include <linux/types.h>

struct simgpu_device;
struct simgpu_svm_ctx;
struct simgpu_svm_range;
struct simgpu_vm;

long simgpu_svm_kernel_migrate_to_devmem(struct simgpu_vm *vm,
					 struct simgpu_svm_range *range,
					 struct simgpu_device *target,
					 const struct simgpu_svm_ctx *ctx);
long simgpu_svm_kernel_migrate_to_ram(struct simgpu_vm *vm,
				      struct simgpu_svm_range *range);
int simgpu_svm_kernel_make_exclusive(struct simgpu_vm *vm,
				     struct simgpu_svm_range *range, u64 addr,
				     const struct simgpu_svm_ctx *sctx);

#endif /* _SIMGPU_SVM_KERNEL_MIGRATE_H_ */
