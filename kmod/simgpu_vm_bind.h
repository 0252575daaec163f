/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SIMGPU_VM_BIND_H_
#define _SIMGPU_VM_BIND_H_

struct drm_device;
struct drm_file;
struct drm_gpuva;
struct drm_gpuva_op;
struct simgpu_vm;

int simgpu_vm_bind_write_ptes_locked(struct simgpu_vm *vm,
				     const struct drm_gpuva *va);
int simgpu_vm_bind_sm_step_map(struct drm_gpuva_op *op, void *priv);
int simgpu_vm_bind_sm_step_remap(struct drm_gpuva_op *op, void *priv);
int simgpu_vm_bind_sm_step_unmap(struct drm_gpuva_op *op, void *priv);
int simgpu_vm_bind_ioctl(struct drm_device *drm, void *data,
			 struct drm_file *file);

#endif /* _SIMGPU_VM_BIND_H_ */
