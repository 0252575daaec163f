// SPDX-License-Identifier: GPL-2.0
//
// simgpu_inject: every fault injection site of the driver fails once, on
// purpose, and what follows is checked: the ioctl's errno, the job's
// error, or the fallback (memory that could not move to VRAM is used in
// system memory), and then the same operation works again. The sites are
// the kernel's fault-injection attributes in
// /sys/kernel/debug/simgpu/inject/<site>/ (simgpu_inject.c), each with a
// "hits" count; a kernel without CONFIG_FAULT_INJECTION_DEBUG_FS (stock
// 6.12) has none and every subtest skips. Leaks show in kmemleak, which
// scripts/qemu-run.sh turns on and reads on the svm-dev kernel.

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <set>
#include <string>

#include <unistd.h>

#include <drm/simgpu_drm.h>

#include "igt.hpp"
#include "simgpu_svm_test.hpp"
#include "simgpu_test.hpp"

namespace {

using namespace simgpu_test;
using namespace simgpu_test::svm;

const std::string inject_dir = "/sys/kernel/debug/simgpu/inject/";

// One site, armed to fail every time (times -1) or a number of times, and
// disarmed when it goes out of scope; the "hits" it made are
// hits() - before.
class Site {
public:
    explicit Site(const char* name) : dir_(inject_dir + name + "/")
    {
        igt_require_f(::access(inject_dir.c_str(), F_OK) == 0,
                      "no %s (a kernel without CONFIG_FAULT_INJECTION_DEBUG_FS)",
                      inject_dir.c_str());
        igt_assert_f(::access(dir_.c_str(), F_OK) == 0, "no fault injection site %s",
                     dir_.c_str());
        before_ = hits();
    }
    ~Site() { (void)write_file(dir_ + "probability", "0"); }
    Site(const Site&) = delete;
    Site& operator=(const Site&) = delete;

    void arm(int times = 1) const
    {
        igt_assert(write_file(dir_ + "interval", "1"));
        igt_assert(write_file(dir_ + "times", std::to_string(times)));
        igt_assert(write_file(dir_ + "probability", "100"));
    }
    void disarm() const { igt_assert(write_file(dir_ + "probability", "0")); }
    uint64_t hits() const { return std::stoull(std::string("0").append(read_file(dir_ + "hits"))); }
    // The site failed exactly once since construction.
    void assert_hit_once() const
    {
        igt_assert_eq(hits() - before_, uint64_t{1});
        igt_info("%s: failed once\n", dir_.c_str());
    }
    // The site failed at least once since construction.
    void assert_hit() const
    {
        const uint64_t n = hits() - before_;
        igt_assert_lte(uint64_t{1}, n);
        igt_info("%s: failed %llu times\n", dir_.c_str(), static_cast<unsigned long long>(n));
    }

private:
    std::string dir_;
    uint64_t before_ = 0;
};

// A GPU job on 2 MiB of fresh anonymous memory adds increments; the data
// must be right.
void gpu_add_checked(SvmGpu& gpu, Area& a, uint32_t seed)
{
    fill_words(a.data(), a.size(), seed);
    gpu_add(gpu, a.data(), a.size(), seed + 1);
    check_added(a.data(), a.size(), seed, {seed + 1}, "the buffer after the GPU job");
}

// A site on a job's way (EXEC, or the job's first GPU fault) fails: the job
// ends with -ENOMEM and changes nothing, and the next job works.
void site_fails_job(const Env& env, const char* name)
{
    Site site(name);
    SvmGpu gpu;
    start_gpu(gpu, env);
    Area a(chunk_2m);
    fill_words(a.data(), chunk_2m, 3);
    BatchBuilder b;
    igt_assert(gpu.add_inc(b, a.data(), chunk_2m));
    b.batch_end();
    site.arm();
    igt_assert_eq(gpu.run(b), -ENOMEM);
    site.assert_hit_once();
    check_words(a.data(), chunk_2m, 3, "the buffer after the failed job");
    gpu_add_checked(gpu, a, 4);
}

// A migration-site subtest: while the site fails every migration (a GPU
// fault tries again on a write after a read, and so on), the chunk stays
// in system memory and the job succeeds there; disarmed, the next chunk
// migrates.
void migration_site_falls_back(const Env& env, const char* name)
{
    require_vram_migration(env);
    Site site(name);
    SvmGpu gpu;
    start_gpu(gpu, env);
    Area a(chunk_2m);
    fill_words(a.data(), chunk_2m, 5);
    site.arm(-1);
    gpu_add(gpu, a.data(), chunk_2m, 6);
    site.disarm();
    site.assert_hit();
    assert_in_system(gpu.vm(), a.data(), chunk_2m, "the chunk whose migration failed");
    check_added(a.data(), chunk_2m, 5, {6}, "the chunk whose migration failed");
    // The next fault on other memory migrates.
    Area b(chunk_2m);
    fill_words(b.data(), chunk_2m, 7);
    gpu_add(gpu, b.data(), chunk_2m, 8);
    assert_in_vram(gpu.vm(), env.info.device_id, b.data(), chunk_2m, "the next chunk");
    check_added(b.data(), chunk_2m, 7, {8}, "the next chunk");
}

// Each subtest fails the site @name, as the kernel's simgpu_inject.h
// lists them.
void vm_bind(const Env& env, const char* name)
{
    Site site(name);
    Vm vm = make_vm(env);
    const uint64_t at = alloc_va(64 * KiB);
    auto bo = Bo::create(env.dev, 64 * KiB, DRM_SIMGPU_MEM_SYSTEM);
    igt_assert_ok(bo);
    site.arm();
    igt_assert_errno(vm.map(bo.value(), at, 64 * KiB), ENOMEM);
    site.assert_hit_once();
    igt_assert_ok(vm.map(bo.value(), at, 64 * KiB));
}

void pt_alloc(const Env& env, const char* name)
{
    Site site(name);
    Vm vm = make_vm(env);
    const uint64_t at = alloc_va(64 * KiB);
    GpuBuffer in = make_unbound(env.dev, 64 * KiB);
    site.arm();
    igt_assert_errno(vm.map(in.bo, at, 64 * KiB), ENOMEM);
    site.assert_hit_once();
    igt_assert_ok(vm.map(in.bo, at, 64 * KiB));
    // A job reads the mapping.
    GpuBuffer out = make_buffer(vm, 4 * KiB);
    ExecQueue q = make_queue(env, vm);
    std::memset(in.bytes(), 0x5a, 64);
    BatchBuilder b;
    b.copy(out.gpu(), at, 64).batch_end();
    Job job = Job::submit(vm, q, b);
    igt_assert_eq(job.result().error, 0);
    igt_assert_eq(out.as<uint8_t>()[63], uint8_t{0x5a});
}

void bo_pages(const Env& env, const char* name)
{
    Site site(name);
    site.arm();
    igt_assert_errno(Bo::create(env.dev, 256 * KiB, DRM_SIMGPU_MEM_SYSTEM), ENOMEM);
    site.assert_hit_once();
    igt_assert_ok(Bo::create(env.dev, 256 * KiB, DRM_SIMGPU_MEM_SYSTEM));
}

void queue(const Env& env, const char* name)
{
    Site site(name);
    Vm vm = make_vm(env);
    site.arm();
    igt_assert_errno(ExecQueue::create(env.dev, vm, DRM_SIMGPU_ENGINE_CLASS_COMPUTE, 0),
                     ENOMEM);
    site.assert_hit_once();
    igt_assert_ok(ExecQueue::create(env.dev, vm, DRM_SIMGPU_ENGINE_CLASS_COMPUTE, 0));
}

void madvise(const Env& env, const char* name)
{
    Site site(name);
    SvmGpu gpu;
    start_gpu(gpu, env);
    Area a(chunk_2m);
    site.arm();
    igt_assert_errno(gpu.vm().madvise(va(a.data()), 64 * KiB, DRM_SIMGPU_MADV_READ_MOSTLY, 1),
                     ENOMEM);
    site.assert_hit_once();
    igt_assert_ok(gpu.vm().madvise(va(a.data()), 64 * KiB, DRM_SIMGPU_MADV_READ_MOSTLY, 1));
    gpu_add_checked(gpu, a, 9);
}

struct SiteCase {
    const char* name; // of the site and of its subtest
    const char* description;
    void (*fn)(const Env& env, const char* name);
};

// The sites this binary has a subtest for, in the order of simgpu_inject.h.
constexpr SiteCase site_cases[] = {
    {"vm-bind", "VM_BIND fails with ENOMEM when its operations cannot be allocated, then works",
     vm_bind},
    {"pt-alloc",
     "a MAP fails with ENOMEM when its page tables cannot be allocated, then works for a job",
     pt_alloc},
    {"bo-pages", "GEM_CREATE fails with ENOMEM when its pages cannot be allocated, then works",
     bo_pages},
    {"queue", "EXEC_QUEUE_CREATE fails with ENOMEM when the queue cannot be allocated", queue},
    {"job", "an EXEC whose job cannot be allocated ends with -ENOMEM, changing nothing",
     site_fails_job},
    {"madvise", "VM_MADVISE fails with ENOMEM when its attributes cannot be allocated, then works",
     madvise},
    {"svm-range", "a job whose GPU fault cannot create an SVM range ends with -ENOMEM",
     site_fails_job},
    {"svm-pages", "a job whose GPU fault cannot collect a range's pages ends with -ENOMEM",
     site_fails_job},
    {"vram-chunk",
     "memory that finds no VRAM chunk to migrate to is used in system memory by the job",
     migration_site_falls_back},
    {"migrate-copy", "memory whose copy to VRAM fails is used in system memory by the job",
     migration_site_falls_back},
};

// Every site the driver has is one this binary fails: a new site
// without a subtest fails here. Last, so that after a whole run it
// prints how often each site failed.
void site_list()
{
    igt_require_f(::access(inject_dir.c_str(), F_OK) == 0,
                  "no %s (a kernel without CONFIG_FAULT_INJECTION_DEBUG_FS)",
                  inject_dir.c_str());
    std::set<std::string> found;
    for (const auto& e : std::filesystem::directory_iterator(inject_dir)) {
        const std::string name = e.path().filename();
        found.insert(name);
        igt_info("%-13s hits %llu\n", name.c_str(),
                 std::stoull(std::string("0").append(read_file(e.path() / "hits"))));
    }
    std::set<std::string> known;
    for (const SiteCase& c : site_cases)
        known.insert(c.name);
    for (const std::string& name : found)
        igt_assert_f(known.count(name), "site %s has no subtest", name.c_str());
    for (const std::string& name : known)
        igt_assert_f(found.count(name), "no site %s in %s", name.c_str(),
                     inject_dir.c_str());
}

} // namespace

int main(int argc, char** argv)
{
    igt::Test t(argc, argv);
    std::optional<Env> env;
    t.fixture([&] { env = open_env(); });

    for (const SiteCase& c : site_cases)
        t.subtest(c.name, c.description, [&] { c.fn(*env, c.name); });
    t.subtest("site-list", "every fault injection site of the driver has a subtest here",
              site_list);

    return t.exit_code();
}
