// SPDX-License-Identifier: MIT
#pragma once

#include <string>

#include "simgpu/result.hpp"

namespace simgpu_bench {

// The SVM backend simgpu is loaded with (svm_core, util.hpp backend_of());
// empty when simgpu is not loaded.
std::string loaded_backend();

// Reloads simgpu on @backend: rmmod simgpu, then modprobe simgpu with the
// module parameters of $SIMGPU_MODPARAMS (the test guest exports the -p of
// scripts/qemu-run.sh) and svm_core=@backend. Needs root, and no simgpu
// device may be open. On failure, why, in the error's what (the
// kernel's own message when it refused the backend: svm_core=kernel on a
// kernel without drm_gpusvm).
simgpu::Result<void> load_backend(const std::string& backend);

} // namespace simgpu_bench
