/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SIMGPU_DEBUGFS_H_
#define _SIMGPU_DEBUGFS_H_

struct drm_minor;

void simgpu_debugfs_init(struct drm_minor *minor);

#endif /* _SIMGPU_DEBUGFS_H_ */
