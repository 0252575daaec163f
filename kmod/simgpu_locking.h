/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SIMGPU_LOCKING_H_
#define _SIMGPU_LOCKING_H_

#include <linux/kconfig.h>

struct mutex;
struct simgpu_device;

void simgpu_locking_vm_init(struct mutex *lock);
#if IS_ENABLED(CONFIG_LOCKDEP)
void simgpu_locking_prime(struct simgpu_device *sdev);
#else
static inline void simgpu_locking_prime(struct simgpu_device *sdev)
{
}
#endif

#endif /* _SIMGPU_LOCKING_H_ */
