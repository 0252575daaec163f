# SPDX-License-Identifier: GPL-2.0
#
# Out-of-tree build of simgpu.ko (and simgpu_kunit.ko on kernels with
# CONFIG_KUNIT). `make` builds against the running kernel, `make KDIR=...`
# against another tree; W=1 and C=1 pass through to Kbuild.

KDIR ?= /lib/modules/$(shell uname -r)/build
PWD := $(shell pwd)

all: modules

modules:
	$(MAKE) -C $(KDIR) M=$(PWD) modules

modules_install:
	$(MAKE) -C $(KDIR) M=$(PWD) modules_install

clean:
	$(MAKE) -C $(KDIR) M=$(PWD) clean

.PHONY: all modules modules_install clean
