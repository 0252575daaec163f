// SPDX-License-Identifier: GPL-2.0
/*
 * simgpu: the platform driver and the simulated devices it binds to.
 */

#include <linux/dma-mapping.h>
#include <linux/platform_device.h>
#include <linux/sizes.h>

#include <drm/drm_drv.h>
#include <drm/drm_managed.h>
#include <drm/drm_print.h>

#include "simgpu_device.h"
#include "simgpu_drv.h"
#include "simgpu_engine.h"
#include "simgpu_exec_queue.h"
#include "simgpu_fault.h"
#include "simgpu_locking.h"

/**
 * DOC: Overview
 *
 * Every simulated GPU is a platform device named "simgpu.N". Module init
 * registers the platform driver first and then the devices, so each probe
 * runs synchronously inside platform_device_add() and a failed probe is
 * seen at once. A probe allocates the &struct simgpu_device around its
 * &struct drm_device with devm_drm_dev_alloc() and registers the DRM
 * device, which creates the render node. A device owns its VRAM, its
 * engines (one thread each) and its fault handler; they live as long as
 * the DRM device, i.e. until the last open file of a removed device is
 * closed.
 *
 * Removal (module unload, or unbinding through sysfs) unplugs the DRM
 * device: from then on every ioctl on an fd still open returns -ENODEV and
 * the structure is freed when the last reference, the last open file
 * included, goes away. Jobs submitted before run to their end; process
 * memory in the device's VRAM stays there, reachable by CPU faults, until
 * the device goes and evicts it. Binding the device again fails with
 * -EBUSY until then.
 *
 * Devices of one link group (the link_groups parameter) share an
 * interconnect: their VRAM pagemaps have one owner, the group's cookie, and
 * an engine reaches a peer's VRAM through simgpu_device_lookup(). A
 * device's VRAM outlives every GPU mapping of it: the device evicts its
 * pages, which zaps the peers' mappings, before the VRAM goes.
 */

/**
 * DOC: Locking
 *
 * simgpu_pdevs[] is written only by module init and exit, which the module
 * loader serialises; the driver core serialises probe and remove of one
 * device. simgpu_devs[] is written by probe and the device's release and
 * read without a lock by engines that reach a peer's VRAM: an entry is
 * cleared only after the device evicted its VRAM, when no GPU mapping of
 * it is left, and a probe fails with -EBUSY while the entry of its index
 * still holds an unbound instance that open files keep alive. No lock of
 * the driver is taken here.
 *
 * The order of all the driver's locks: DOC: Locking in simgpu_locking.c.
 */

static const struct simgpu_params *simgpu_dev_params;
static struct platform_device *simgpu_pdevs[SIMGPU_MAX_DEVICES];
/* Probed devices whose VRAM exists, for peer access over a link. */
static struct simgpu_device *simgpu_devs[SIMGPU_MAX_DEVICES];
/* The pgmap owners of the link groups: only their addresses matter. */
static u8 simgpu_link_cookies[SIMGPU_MAX_DEVICES];

/**
 * simgpu_device_lookup() - a device by index, for access to its VRAM
 * @id: the device index
 *
 * Valid while a GPU mapping of the device's VRAM exists.
 *
 * Return: the device, or NULL when there is none.
 */
struct simgpu_device *simgpu_device_lookup(u32 id)
{
	return id < SIMGPU_MAX_DEVICES ? READ_ONCE(simgpu_devs[id]) : NULL;
}

/**
 * simgpu_device_pgmap_owner() - the owner of a device's VRAM pages
 * @sdev: the device
 *
 * Return: the link group's cookie, or the device when it has no link.
 */
void *simgpu_device_pgmap_owner(struct simgpu_device *sdev)
{
	u8 group = sdev->params->link_group[sdev->id];

	return group ? (void *)&simgpu_link_cookies[group - 1] : sdev;
}

/**
 * simgpu_device_linked() - whether two devices share an interconnect
 * @a: a device
 * @b: another device, or @a
 *
 * Return: true when @a and @b are one device or in one link group.
 */
bool simgpu_device_linked(struct simgpu_device *a, struct simgpu_device *b)
{
	return simgpu_device_pgmap_owner(a) == simgpu_device_pgmap_owner(b);
}

/**
 * simgpu_device_link_mask() - the devices a device has a link to
 * @sdev: the device
 *
 * Return: bit i set for each other device i of @sdev's link group.
 */
u64 simgpu_device_link_mask(struct simgpu_device *sdev)
{
	const struct simgpu_params *p = sdev->params;
	u8 group = p->link_group[sdev->id];
	u64 mask = 0;
	unsigned int i;

	for (i = 0; group && i < p->num_devices; i++)
		if (i != sdev->id && p->link_group[i] == group)
			mask |= BIT_ULL(i);
	return mask;
}

/*
 * Last reference to the DRM device gone: every file is closed, so no
 * queue, fault or buffer object is left. Runs after the engines stopped
 * and the fault worker was flushed (drmm actions run in reverse order of
 * registration).
 */
static void simgpu_device_release(struct drm_device *drm, void *arg)
{
	struct simgpu_device *sdev = arg;

	/* A probe that failed before taking the index leaves it alone. */
	cmpxchg(&simgpu_devs[sdev->id], sdev, NULL);
	simgpu_vram_fini(&sdev->vram);
}

static int simgpu_probe(struct platform_device *pdev)
{
	const struct simgpu_params *p = simgpu_dev_params;
	struct simgpu_device *sdev;
	int err;

	/*
	 * A device unbound while files of it stay open lives on (unplugged)
	 * with its VRAM, which other devices may still map by index: a new
	 * instance may only take the index once the old one is gone.
	 */
	if (READ_ONCE(simgpu_devs[pdev->id])) {
		dev_warn(&pdev->dev,
			 "device %d is still open from before its unbind; bind it again once its files are closed\n",
			 pdev->id);
		return -EBUSY;
	}

	/*
	 * The simulated engines reach all of system memory: DMA addresses
	 * of SVM pages (drm_gpusvm maps them) must not bounce below 4 GiB.
	 */
	err = dma_set_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(64));
	if (err)
		return err;
	sdev = devm_drm_dev_alloc(&pdev->dev, &simgpu_drm_driver,
				  struct simgpu_device, drm);
	if (IS_ERR(sdev))
		return PTR_ERR(sdev);

	sdev->id = pdev->id;
	sdev->params = p;
	spin_lock_init(&sdev->fault_lock);
	INIT_LIST_HEAD(&sdev->faults);
	INIT_WORK(&sdev->fault_work, simgpu_fault_work);
	init_waitqueue_head(&sdev->ufence_wq);
	init_waitqueue_head(&sdev->vm_release_wq);
	INIT_LIST_HEAD(&sdev->sched_pool);
	spin_lock_init(&sdev->bo_lru_lock);
	INIT_LIST_HEAD(&sdev->bo_lru);
	err = drmm_mutex_init(&sdev->drm, &sdev->sched_pool_lock);
	if (err)
		return err;

	err = simgpu_vram_init(&sdev->vram, (u64)p->vram_mb * SZ_1M);
	if (err)
		return err;
	err = drmm_add_action_or_reset(&sdev->drm, simgpu_device_release, sdev);
	if (err)
		return err;

	err = simgpu_engines_init(sdev);
	if (err)
		return err;
	/* After the engines: its teardown copies through them. */
	err = simgpu_dmem_init(sdev);
	if (err)
		return err;
	simgpu_locking_prime(sdev);
	WRITE_ONCE(simgpu_devs[sdev->id], sdev);

	platform_set_drvdata(pdev, sdev);
	err = drm_dev_register(&sdev->drm, 0);
	if (err)
		return err;

	drm_info(&sdev->drm,
		 "simulated GPU %u: %u MiB VRAM, %u compute + %u copy engines\n",
		 sdev->id, p->vram_mb, p->num_compute_engines,
		 p->num_copy_engines);
	return 0;
}

static void simgpu_remove(struct platform_device *pdev)
{
	struct simgpu_device *sdev = platform_get_drvdata(pdev);

	simgpu_dmem_unplug(sdev);
}

static struct platform_driver simgpu_platform_driver = {
	.probe = simgpu_probe,
	.remove = simgpu_remove,
	.driver = {
		.name = SIMGPU_DRIVER_NAME,
		.probe_type = PROBE_FORCE_SYNCHRONOUS,
	},
};

static void simgpu_devices_remove(unsigned int count)
{
	while (count--) {
		platform_device_unregister(simgpu_pdevs[count]);
		simgpu_pdevs[count] = NULL;
	}
}

/**
 * simgpu_device_driver_register() - register the driver and its devices
 * @params: shape of the devices, valid until
 *	simgpu_device_driver_unregister() returns
 *
 * Creates @params->num_devices devices and binds each of them.
 *
 * Return: 0, or a negative errno with nothing left registered.
 */
int simgpu_device_driver_register(const struct simgpu_params *params)
{
	struct platform_device *pdev;
	unsigned int i;
	int err;

	simgpu_dev_params = params;

	err = platform_driver_register(&simgpu_platform_driver);
	if (err)
		return err;

	for (i = 0; i < params->num_devices; i++) {
		pdev = platform_device_register_simple(SIMGPU_DRIVER_NAME, i,
						       NULL, 0);
		if (IS_ERR(pdev)) {
			err = PTR_ERR(pdev);
			goto err_devices;
		}

		/* Probe ran synchronously; drvdata is cleared if it failed. */
		if (!platform_get_drvdata(pdev)) {
			platform_device_unregister(pdev);
			err = -ENODEV;
			goto err_devices;
		}
		simgpu_pdevs[i] = pdev;
	}
	return 0;

err_devices:
	simgpu_devices_remove(i);
	platform_driver_unregister(&simgpu_platform_driver);
	return err;
}

/**
 * simgpu_device_driver_unregister() - remove every device and the driver
 */
void simgpu_device_driver_unregister(void)
{
	simgpu_devices_remove(simgpu_dev_params->num_devices);
	platform_driver_unregister(&simgpu_platform_driver);
}
