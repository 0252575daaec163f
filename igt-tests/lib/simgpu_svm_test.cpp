// SPDX-License-Identifier: MIT
#include "simgpu_svm_test.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <thread>
#include <utility>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

namespace simgpu_test::svm {
namespace {

std::atomic<uint64_t> next_fence_value{0x5157d00000000001ULL};

// The control BO: the user fence at 0, argument blocks, then the batch.
constexpr uint64_t ctl_size = 64 * KiB;
constexpr uint64_t ctl_args = 4 * KiB;
constexpr uint64_t ctl_batch = 32 * KiB;

void sleep_ms(int ms)
{
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

Counters read_counters(const char* file, uint32_t device,
                       std::initializer_list<const char*> keys)
{
    auto c = read_debugfs_counters(file, device);
    igt_require_f(c.has_value(),
                  "no %s of device %u in /sys/kernel/debug/dri (not root or no debugfs)", file,
                  device);
    for (const char* key : keys)
        igt_assert_f(c->count(key), "%s of device %u has no %s line", file, device, key);
    return *c;
}

} // namespace

uint32_t pattern(uint32_t seed, uint64_t i)
{
    uint32_t x = seed * 0x9e3779b9u ^ static_cast<uint32_t>(i) * 0x85ebca6bu ^
                 static_cast<uint32_t>(i >> 32);
    x ^= x >> 15;
    x *= 0x2c1b3c6du;
    x ^= x >> 12;
    x *= 0x297a2d39u;
    x ^= x >> 15;
    return x | 1;
}

void fill_words(void* p, uint64_t bytes, uint32_t seed, uint64_t first)
{
    auto* w = static_cast<uint32_t*>(p);
    for (uint64_t i = 0; i < bytes / 4; ++i)
        w[i] = pattern(seed, first + i);
}

void check_words(const void* p, uint64_t bytes, uint32_t seed, const char* what, uint64_t first)
{
    const auto* w = static_cast<const volatile uint32_t*>(p);
    for (uint64_t i = 0; i < bytes / 4; ++i)
        if (w[i] != pattern(seed, first + i))
            igt_fail("%s: word %llu (at %p) is 0x%08x, expected 0x%08x", what,
                     static_cast<unsigned long long>(i), const_cast<const uint32_t*>(w + i), w[i],
                     pattern(seed, first + i));
}

void check_value(const void* p, uint64_t bytes, uint32_t value, const char* what)
{
    const auto* w = static_cast<const volatile uint32_t*>(p);
    for (uint64_t i = 0; i < bytes / 4; ++i)
        if (w[i] != value)
            igt_fail("%s: word %llu (at %p) is 0x%08x, expected 0x%08x", what,
                     static_cast<unsigned long long>(i), const_cast<const uint32_t*>(w + i), w[i],
                     value);
}

uint32_t expected_word(std::optional<uint32_t> seed, std::span<const uint32_t> incs, uint64_t i)
{
    uint32_t v = seed ? pattern(*seed, i) : 0;
    for (const uint32_t inc : incs)
        v += SvmGpu::inc_value(inc, i);
    return v;
}

uint64_t first_wrong_word(const void* p, uint64_t bytes, std::optional<uint32_t> seed,
                          std::span<const uint32_t> incs, uint64_t first)
{
    const auto* w = static_cast<const volatile uint32_t*>(p);
    for (uint64_t i = 0; i < bytes / 4; ++i)
        if (w[i] != expected_word(seed, incs, first + i))
            return i;
    return UINT64_MAX;
}

void check_added(const void* p, uint64_t bytes, std::optional<uint32_t> seed,
                 std::span<const uint32_t> incs, const char* what, uint64_t first)
{
    const uint64_t i = first_wrong_word(p, bytes, seed, incs, first);
    if (i == UINT64_MAX)
        return;
    const auto* w = static_cast<const volatile uint32_t*>(p);
    uint64_t wrong = 0;
    for (uint64_t j = i; j < bytes / 4; ++j)
        wrong += w[j] != expected_word(seed, incs, first + j);
    igt_fail("%s: %llu of %llu words wrong; the first, word %llu (at %p), is 0x%08x, "
             "expected 0x%08x",
             what, static_cast<unsigned long long>(wrong),
             static_cast<unsigned long long>(bytes / 4), static_cast<unsigned long long>(i),
             static_cast<const void*>(static_cast<const std::byte*>(p) + i * 4), w[i],
             expected_word(seed, incs, first + i));
}

std::byte* map_aligned(uint64_t size, uint64_t align, int prot, int flags, int fd, Thp thp)
{
    const uint64_t reserve = size + align;
    void* r = ::mmap(nullptr, reserve, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (r == MAP_FAILED)
        return nullptr;
    auto* base = static_cast<std::byte*>(r);
    auto* p = reinterpret_cast<std::byte*>(round_up(va(base), align));
    if (::mmap(p, size, prot, flags | MAP_FIXED, fd, 0) == MAP_FAILED) {
        const int err = errno;
        ::munmap(base, reserve);
        errno = err;
        return nullptr;
    }
    if (p > base)
        ::munmap(base, static_cast<size_t>(p - base));
    if (base + reserve > p + size)
        ::munmap(p + size, static_cast<size_t>(base + reserve - (p + size)));
    if ((flags & (MAP_PRIVATE | MAP_ANONYMOUS)) == (MAP_PRIVATE | MAP_ANONYMOUS) && thp != Thp::any &&
        ::madvise(p, size, thp == Thp::on ? MADV_HUGEPAGE : MADV_NOHUGEPAGE) != 0) {
        const int err = errno;
        ::munmap(p, size);
        errno = err;
        return nullptr;
    }
    return p;
}

ThpMode::ThpMode(const char* mode)
{
    const std::string now = read_file(thp_enabled_path);
    igt_require_f(!now.empty(), "no %s (kernel without transparent hugepages)", thp_enabled_path);
    const auto open = now.find('['), close = now.find(']');
    igt_assert_f(open != std::string::npos && close > open, "%s reads \"%s\"", thp_enabled_path,
                 now.c_str());
    old_ = now.substr(open + 1, close - open - 1);
    igt_require_f(write(mode), "cannot write \"%s\" to %s: %s", mode, thp_enabled_path,
                  std::strerror(errno));
    const std::string set = read_file(thp_enabled_path);
    if (set.find(std::string("[") + mode + "]") == std::string::npos) {
        // The destructor of an object whose constructor throws does not
        // run: restore here.
        (void)write(old_.c_str());
        igt_fail("%s reads \"%s\" after writing %s", thp_enabled_path, set.c_str(), mode);
    }
    armed_ = true;
    igt_info("transparent_hugepage/enabled: %s (was %s)\n", mode, old_.c_str());
}

ThpMode::~ThpMode()
{
    if (armed_ && !write(old_.c_str()))
        std::fprintf(stderr, "could not restore %s to %s: %s\n", thp_enabled_path, old_.c_str(),
                     std::strerror(errno));
}

bool ThpMode::write(const char* mode)
{
    return write_file(thp_enabled_path, mode);
}

Area::Area(uint64_t size, Thp thp, int prot, int flags, int fd, uint64_t align) : size_(size)
{
    p_ = map_aligned(size, align, prot, flags, fd, thp);
    igt_assert_f(p_ != nullptr, "mmap of %llu bytes aligned to %llu: %s",
                 static_cast<unsigned long long>(size), static_cast<unsigned long long>(align),
                 std::strerror(errno));
}

Area::~Area()
{
    reset();
}

void Area::reset()
{
    if (p_)
        ::munmap(std::exchange(p_, nullptr), size_);
}

// ---------------------------------------------------------------------------

Counters svm_counters(uint32_t device)
{
    return read_counters("simgpu_svm", device,
                         {"ranges_created", "pages_faulted", "migrate_to_vram_pages",
                          "migrate_to_vram_bytes", "migrate_to_vram_2M", "migrate_to_vram_64K",
                          "migrate_to_vram_4K", "migrate_to_ram_pages", "migrate_to_ram_bytes",
                          "migrate_to_ram_chunks", "evictions", "evicted_pages",
                          "migrate_fallbacks", "thrash_holds", "migrate_busy_waits"});
}

Counters stats_counters(uint32_t device)
{
    return read_counters("simgpu_stats", device, {"faults"});
}

Counters vram_counters(uint32_t device)
{
    return read_counters("simgpu_vram", device,
                         {"size", "used", "used_bo", "used_svm", "bo_evictions", "bo_evicted_bytes",
                          "bo_restores"});
}

uint64_t delta(const Counters& before, const Counters& after, const std::string& key)
{
    const auto b = before.find(key);
    const auto a = after.find(key);
    igt_assert_f(b != before.end() && a != after.end(), "no counter %s", key.c_str());
    igt_assert_f(a->second >= b->second, "counter %s went back from %llu to %llu", key.c_str(),
                 static_cast<unsigned long long>(b->second),
                 static_cast<unsigned long long>(a->second));
    return a->second - b->second;
}

uint64_t used_svm(uint32_t device)
{
    return vram_counters(device).at("used_svm");
}

uint64_t wait_used_svm_at_most(uint64_t limit, uint32_t device, int timeout_ms)
{
    const int64_t deadline = now_ns() + int64_t{timeout_ms} * ms_ns;
    uint64_t used = used_svm(device);
    while (used > limit && now_ns() < deadline) {
        sleep_ms(20);
        used = used_svm(device);
    }
    return used;
}

uint64_t settled_used_svm(uint32_t device, int timeout_ms)
{
    const int64_t deadline = now_ns() + int64_t{timeout_ms} * ms_ns;
    uint64_t used = used_svm(device);
    int64_t since = now_ns();
    while (used != 0 && now_ns() < deadline && now_ns() - since < sec_ns) {
        sleep_ms(50);
        const uint64_t now = used_svm(device);
        if (now != used) {
            used = now;
            since = now_ns();
        }
    }
    return used;
}

void info_deltas(const char* what, const Counters& before, const Counters& after)
{
    std::string line;
    for (const char* key : {"migrate_to_vram_pages", "migrate_to_vram_2M", "migrate_to_vram_64K",
                            "migrate_to_vram_4K", "migrate_to_ram_pages", "migrate_to_ram_chunks",
                            "evictions", "evicted_pages", "migrate_fallbacks"}) {
        const auto b = before.find(key);
        const auto a = after.find(key);
        if (b == before.end() || a == after.end())
            continue;
        line += std::string(" ") + key + " " +
                std::to_string(static_cast<long long>(a->second - b->second));
    }
    igt_info("%s:%s\n", what, line.c_str());
}

// ---------------------------------------------------------------------------

std::vector<uint32_t> query(const Vm& vm, const void* p, uint64_t bytes)
{
    const uint64_t first = va(p) & ~(page_size - 1);
    const uint64_t n = (round_up(va(p) + bytes, page_size) - first) / page_size;
    auto pages = vm.query_range(first, n);
    igt_assert_ok(pages);
    return std::move(pages).value();
}

uint64_t count_vram(const std::vector<uint32_t>& pages)
{
    return static_cast<uint64_t>(std::count_if(pages.begin(), pages.end(), [](uint32_t f) {
        return (f & (DRM_SIMGPU_PAGE_MAPPED | DRM_SIMGPU_PAGE_VRAM)) ==
               (DRM_SIMGPU_PAGE_MAPPED | DRM_SIMGPU_PAGE_VRAM);
    }));
}

namespace {

void assert_each_page(const Vm& vm, const void* p, uint64_t bytes, uint32_t mask, uint32_t want,
                      const char* what)
{
    const auto pages = query(vm, p, bytes);
    uint64_t bad = 0;
    size_t first_bad = 0;
    for (size_t i = 0; i < pages.size(); ++i)
        if ((pages[i] & mask) != want && bad++ == 0)
            first_bad = i;
    igt_assert_f(bad == 0,
                 "%s: %llu of %zu pages have the wrong placement; the first, page %zu (0x%llx), "
                 "has flags 0x%x, expected 0x%x under mask 0x%x",
                 what, static_cast<unsigned long long>(bad), pages.size(), first_bad,
                 static_cast<unsigned long long>((va(p) & ~(page_size - 1)) + first_bad * page_size),
                 bad ? pages[first_bad] : 0u, want, mask);
}

} // namespace

void assert_in_vram(const Vm& vm, uint32_t device_id, const void* p, uint64_t bytes,
                    const char* what)
{
    assert_each_page(vm, p, bytes,
                     DRM_SIMGPU_PAGE_MAPPED | DRM_SIMGPU_PAGE_VRAM | page_device_mask,
                     in_vram(device_id), what);
}

void assert_not_in_vram(const Vm& vm, const void* p, uint64_t bytes, const char* what)
{
    assert_each_page(vm, p, bytes, DRM_SIMGPU_PAGE_VRAM, 0, what);
}

void assert_in_system(const Vm& vm, const void* p, uint64_t bytes, const char* what)
{
    assert_each_page(vm, p, bytes, DRM_SIMGPU_PAGE_MAPPED | DRM_SIMGPU_PAGE_VRAM,
                     DRM_SIMGPU_PAGE_MAPPED, what);
}

void assert_unmapped(const Vm& vm, const void* p, uint64_t bytes, const char* what)
{
    assert_each_page(vm, p, bytes, DRM_SIMGPU_PAGE_MAPPED, 0, what);
}

void assert_huge(const Vm& vm, const void* p, uint64_t bytes, const char* what)
{
    assert_each_page(vm, p, bytes, DRM_SIMGPU_PAGE_MAPPED | DRM_SIMGPU_PAGE_HUGE,
                     DRM_SIMGPU_PAGE_MAPPED | DRM_SIMGPU_PAGE_HUGE, what);
}

// ---------------------------------------------------------------------------

int SvmGpu::init(const simgpu::Device& dev, uint16_t compute_instance)
{
    dev_ = &dev;
    auto vm = Vm::create(dev, DRM_SIMGPU_VM_CREATE_FAULT_MODE);
    if (!vm.ok())
        return vm.error().err;
    vm_ = std::move(vm).value();
    if (auto r = vm_.mirror(); !r.ok())
        return r.error().err;
    auto q = ExecQueue::create(dev, vm_, DRM_SIMGPU_ENGINE_CLASS_COMPUTE, compute_instance);
    if (!q.ok())
        return q.error().err;
    queue_ = std::move(q).value();

    const auto make = [&](uint64_t size, simgpu::Bo& bo, simgpu::Mapping& map,
                          uint64_t& gpu_va) -> int {
        auto b = simgpu::Bo::create(dev, size, DRM_SIMGPU_MEM_SYSTEM);
        if (!b.ok())
            return b.error().err;
        bo = std::move(b).value();
        auto m = bo.map();
        if (!m.ok())
            return m.error().err;
        map = std::move(m).value();
        gpu_va = alloc_va(size, size >= chunk_2m ? chunk_2m : page_size);
        if (auto r = vm_.map(bo, gpu_va, size); !r.ok())
            return r.error().err;
        return 0;
    };
    if (const int err = make(ctl_size, ctl_bo_, ctl_map_, ctl_va_))
        return err;
    return make(inc_bytes, inc_bo_, inc_map_, inc_va_);
}

void SvmGpu::set_inc(uint32_t seed)
{
    auto* w = inc_map_.as<uint32_t>();
    for (uint64_t j = 0; j < inc_words; ++j)
        w[j] = inc_value(seed, j);
}

uint64_t SvmGpu::arg_block(const void* data, size_t size)
{
    const uint64_t off = ctl_args + round_up(args_used_, 64);
    if (off + size > ctl_batch)
        return 0;
    std::memcpy(ctl_map_.bytes() + off, data, size);
    args_used_ = off + size - ctl_args;
    return ctl_va_ + off;
}

bool SvmGpu::launch(BatchBuilder& b, uint32_t kernel, const void* args, size_t size,
                    uint32_t workgroup)
{
    const uint64_t at = arg_block(args, size);
    if (!at)
        return false;
    b.launch(kernel, at, workgroup);
    return true;
}

bool SvmGpu::add_inc(BatchBuilder& b, uint64_t gpu_addr, uint64_t bytes)
{
    for (uint64_t off = 0; off < bytes; off += inc_bytes) {
        const drm_simgpu_kargs_add args{.a = gpu_addr + off,
                                        .b = inc_va_,
                                        .c = gpu_addr + off,
                                        .count = std::min(inc_bytes, bytes - off) / 4};
        if (!launch(b, DRM_SIMGPU_KERNEL_ADD, &args, sizeof(args), 4096))
            return false;
    }
    return true;
}

int SvmGpu::run(const BatchBuilder& b, int64_t timeout_ns, JobOutcome* out)
{
    args_used_ = 0; // whatever happens, the next job starts afresh
    if (broken_)
        return -EIO;
    if (b.size_bytes() > ctl_size - ctl_batch)
        return -E2BIG;
    std::memcpy(ctl_map_.bytes() + ctl_batch, b.dwords().data(), b.size_bytes());
    volatile uint64_t* fence = ctl_map_.as<uint64_t>();
    *fence = 0;
    const uint64_t value = next_fence_value.fetch_add(1);

    auto st = queue_.state();
    if (!st.ok())
        return -st.error().err;
    const uint64_t failed_before = st.value().jobs_failed;
    const auto sync = simgpu::user_fence_out(ctl_va_, value);
    if (auto r = queue_.exec(ctl_va_ + ctl_batch, {&sync, 1}); !r.ok())
        return -r.error().err;
    pending_ = value;
    st = queue_.state();
    if (!st.ok())
        return -st.error().err;
    const uint64_t index = st.value().jobs_submitted;

    const int64_t deadline = now_ns() + timeout_ns;
    for (;;) {
        if (*fence == value)
            break;
        st = queue_.state();
        if (!st.ok())
            return -st.error().err;
        if (st.value().jobs_completed >= index)
            break;
        const int64_t left = deadline - now_ns();
        if (left <= 0) {
            broken_ = true; // the job may still read the batch
            return -ETIME;
        }
        // With the queue id the wait ends with EIO as soon as a job fails.
        auto r = simgpu::wait_user_fence(*dev_, ctl_map_.as<uint64_t>(), value,
                                         DRM_SIMGPU_CMP_EQ, std::min<int64_t>(left, 50 * ms_ns),
                                         queue_.id());
        if (r.ok())
            break;
        if (r.error().err != ETIME && r.error().err != EIO)
            return -r.error().err;
    }

    // The counters may trail the fence a little.
    JobOutcome o;
    const int64_t settle = now_ns() + 2 * sec_ns;
    for (;;) {
        st = queue_.state();
        if (!st.ok())
            return -st.error().err;
        o.state = st.value();
        if (o.state.jobs_completed >= index || now_ns() > settle)
            break;
        sleep_ms(1);
    }
    o.fence = *fence == value;
    o.error = o.state.jobs_failed > failed_before ? o.state.error : 0;
    if (o.error == 0 && !o.fence)
        o.error = o.state.error ? o.state.error : -EPROTO;
    pending_ = 0;
    if (out)
        *out = o;
    return o.error;
}

int SvmGpu::finish(int64_t timeout_ns)
{
    if (!pending_)
        return 0;
    const volatile uint64_t* fence = ctl_map_.as<uint64_t>();
    const int64_t deadline = now_ns() + timeout_ns;
    while (*fence != pending_) {
        if (now_ns() > deadline)
            return -ETIME;
        sleep_ms(1);
    }
    pending_ = 0;
    return 1;
}

// ---------------------------------------------------------------------------

void require_vram_migration(const Env& env)
{
    igt_require_f(env.has_cap(DRM_SIMGPU_CAP_FAULT_MODE | DRM_SIMGPU_CAP_CPU_ADDR_MIRROR),
                  "device %u cannot mirror the CPU address space (caps 0x%llx)",
                  env.info.device_id, static_cast<unsigned long long>(env.info.caps));
    igt_require_f(env.has_cap(DRM_SIMGPU_CAP_VRAM_MIGRATION),
                  "no VRAM migration on device %u: kernel without CONFIG_DEVICE_PRIVATE, "
                  "or older than 6.19 (the kernel log says which; caps 0x%llx)",
                  env.info.device_id, static_cast<unsigned long long>(env.info.caps));
}

bool kernel_svm()
{
    const auto core = read_param("svm_core");
    return core && *core == "kernel";
}

void require_atomic_hold(const Env& env)
{
    igt_require_f(env.has_cap(DRM_SIMGPU_CAP_ATOMIC_HOLD),
                  "device %u cannot hold pages exclusive for GPU atomics: a kernel without "
                  "CONFIG_DEVICE_PRIVATE (caps 0x%llx)",
                  env.info.device_id, static_cast<unsigned long long>(env.info.caps));
}

void start_gpu(SvmGpu& gpu, const Env& env)
{
    const int err = gpu.init(env.dev);
    igt_assert_f(err == 0, "setting up a mirror VM, a queue and its BOs: %s", std::strerror(err));
}

void run_ok(SvmGpu& gpu, const BatchBuilder& b, int64_t timeout_ns)
{
    JobOutcome o;
    const int err = gpu.run(b, timeout_ns, &o);
    igt_assert_f(err == 0,
                 "job failed: %d (%s), fence %s, queue error %d, fault_addr 0x%llx", err,
                 err ? std::strerror(-err) : "none", o.fence ? "written" : "not written",
                 o.state.error, static_cast<unsigned long long>(o.state.fault_addr));
}

void run_fault(SvmGpu& gpu, const BatchBuilder& b, uint64_t fault_addr)
{
    JobOutcome o;
    const int err = gpu.run(b, job_timeout_ns, &o);
    igt_assert_f(err == -EFAULT, "job error %d (%s), expected -EFAULT", err,
                 err ? std::strerror(-err) : "none");
    igt_assert(!o.fence);
    igt_assert_eq(o.state.error, -EFAULT);
    igt_assert_f(o.state.fault_addr == fault_addr, "fault_addr 0x%llx, expected 0x%llx",
                 static_cast<unsigned long long>(o.state.fault_addr),
                 static_cast<unsigned long long>(fault_addr));
}

GpuBuffer gpu_read(SvmGpu& gpu, const void* src, uint64_t bytes)
{
    GpuBuffer out = make_buffer(gpu.vm(), bytes);
    std::memset(out.bytes(), 0xa5, out.size);
    BatchBuilder b;
    b.copy(out.gpu(), va(src), bytes).batch_end();
    run_ok(gpu, b);
    return out;
}

void gpu_add(SvmGpu& gpu, const void* p, uint64_t bytes, uint32_t inc_seed, uint64_t per_job)
{
    igt_assert(per_job % SvmGpu::inc_bytes == 0 && per_job > 0);
    gpu.set_inc(inc_seed);
    const auto* base = static_cast<const std::byte*>(p);
    for (uint64_t off = 0; off < bytes; off += per_job) {
        BatchBuilder b;
        igt_assert(gpu.add_inc(b, base + off, std::min(per_job, bytes - off)));
        b.batch_end();
        run_ok(gpu, b);
    }
}

// ---------------------------------------------------------------------------

int wait_child(pid_t pid, int timeout_ms)
{
    const int64_t deadline = now_ns() + int64_t{timeout_ms} * ms_ns;
    int status = 0;
    for (;;) {
        const pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return status;
        if (r < 0)
            return -1;
        if (now_ns() > deadline) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &status, 0);
            return -1;
        }
        sleep_ms(5);
    }
}

void assert_child_ok(pid_t pid, int timeout_ms, const char* what)
{
    const int status = wait_child(pid, timeout_ms);
    igt_assert_f(status != -1, "%s: child %d did not exit within %d ms", what, pid, timeout_ms);
    igt_assert_f(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: child %d %s %d", what, pid,
                 WIFEXITED(status) ? "exited with" : "was killed by signal",
                 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
}

Pipe::Pipe()
{
    int fds[2];
    igt_assert_eq(::pipe2(fds, O_CLOEXEC), 0);
    rd = fds[0];
    wr = fds[1];
}

Pipe::~Pipe()
{
    ::close(rd);
    ::close(wr);
}

bool Pipe::send(char c) const
{
    return ::write(wr, &c, 1) == 1;
}

bool Pipe::recv(char* c, int timeout_ms) const
{
    pollfd pfd{rd, POLLIN, 0};
    if (::poll(&pfd, 1, timeout_ms) != 1)
        return false;
    return ::read(rd, c, 1) == 1;
}

void cpu_turn(volatile uint32_t* w, std::vector<uint32_t>& shadow, uint32_t inc, int round)
{
    for (uint64_t i = 0; i < shadow.size(); ++i) {
        shadow[i] += SvmGpu::inc_value(inc, i);
        if (w[i] != shadow[i])
            igt_fail("round %d: word %llu is 0x%08x, expected 0x%08x", round,
                     static_cast<unsigned long long>(i), w[i], shadow[i]);
    }
    for (uint64_t i = static_cast<uint64_t>(round) % 8; i < shadow.size(); i += 8)
        w[i] = shadow[i] = shadow[i] * 3 + static_cast<uint32_t>(round);
}

} // namespace simgpu_test::svm
