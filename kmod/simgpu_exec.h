/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SIMGPU_EXEC_H_
#define _SIMGPU_EXEC_H_

struct drm_device;
struct drm_file;

int simgpu_exec_ioctl(struct drm_device *drm, void *data,
		      struct drm_file *file);
int simgpu_exec_wait_user_fence_ioctl(struct drm_device *drm, void *data,
				      struct drm_file *file);

#endif /* _SIMGPU_EXEC_H_ */
