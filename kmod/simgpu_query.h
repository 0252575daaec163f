/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SIMGPU_QUERY_H_
#define _SIMGPU_QUERY_H_

struct drm_device;
struct drm_file;

int simgpu_query_ioctl(struct drm_device *drm, void *data,
		       struct drm_file *file);

#endif /* _SIMGPU_QUERY_H_ */
