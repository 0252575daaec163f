/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SIMGPU_DEVICE_H_
#define _SIMGPU_DEVICE_H_

#include <linux/types.h>

struct simgpu_device;
struct simgpu_params;

struct simgpu_device *simgpu_device_lookup(u32 id);
void *simgpu_device_pgmap_owner(struct simgpu_device *sdev);
bool simgpu_device_linked(struct simgpu_device *a, struct simgpu_device *b);
u64 simgpu_device_link_mask(struct simgpu_device *sdev);
int simgpu_device_driver_register(const struct simgpu_params *params);
void simgpu_device_driver_unregister(void);

#endif /* _SIMGPU_DEVICE_H_ */
