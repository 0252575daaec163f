// SPDX-License-Identifier: MIT
#include "harness.hpp"

#include <cerrno>
#include <cstring>
#include <string>
#include <sys/mman.h>

#include "simgpu/sync.hpp"
#include "util.hpp"

namespace simgpu_bench {
namespace {

constexpr uint64_t page = DRM_SIMGPU_PAGE_SIZE;
constexpr uint64_t huge = 2 * MiB;
constexpr uint64_t control_size = 64 * KiB;
constexpr uint64_t batch_offset = page; // the fence lives at offset 0
// Each wait_user_fence slice; between slices the queue state is checked,
// so a job that failed before the wait began is not missed.
constexpr int64_t wait_slice_ns = 1'000'000'000;
constexpr int wait_slices = 120;
// Waiter slices of run_all(): a failed job signals no eventfd, so the
// queue states are looked at between slices.
constexpr int64_t waiter_slice_ns = 100'000'000;

uint64_t page_align(uint64_t bytes)
{
    return (bytes + page - 1) & ~(page - 1);
}

[[noreturn]] void fail(const simgpu::Error& e)
{
    throw BenchError(e.message());
}

template <typename T>
T check(simgpu::Result<T> r)
{
    if (!r.ok())
        fail(r.error());
    if constexpr (!std::is_void_v<T>)
        return std::move(r).value();
}

std::string job_error_text(int error, uint64_t fault_addr)
{
    char text[96];
    switch (error) {
    case -EFAULT:
        std::snprintf(text, sizeof(text), "GPU page fault at 0x%llx (EFAULT)",
                      static_cast<unsigned long long>(fault_addr));
        return text;
    case -EILSEQ:
        return "invalid command (EILSEQ)";
    case -ETIMEDOUT:
        return "ran longer than the job timeout (ETIMEDOUT; module parameter job_timeout_ms)";
    case -ECANCELED:
        return "cancelled (ECANCELED)";
    default:
        return "error " + std::to_string(error);
    }
}

} // namespace

Buffer::Buffer(uint64_t size) : size_(page_align(size))
{
    // Guard page + up to 2 MiB of alignment slack + buffer + guard page.
    reserve_size_ = size_ + huge + 2 * page;
    void* r = mmap(nullptr, reserve_size_, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    if (r == MAP_FAILED)
        throw BenchError("mmap of " + std::to_string(reserve_size_) +
                         " bytes: " + std::strerror(errno));
    reserve_ = static_cast<std::byte*>(r);
    const uintptr_t start = (reinterpret_cast<uintptr_t>(reserve_) + page + huge - 1) & ~(huge - 1);
    void* d = mmap(reinterpret_cast<void*>(start), size_, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (d == MAP_FAILED) {
        const int err = errno;
        munmap(reserve_, reserve_size_);
        throw BenchError("mmap of " + std::to_string(size_) + " bytes: " + std::strerror(err));
    }
    data_ = static_cast<std::byte*>(d);
    data_mapped_ = true;
}

Buffer::Buffer(Buffer&& other) noexcept
    : reserve_(other.reserve_), reserve_size_(other.reserve_size_), data_(other.data_),
      size_(other.size_), data_mapped_(other.data_mapped_)
{
    other.reserve_ = nullptr;
    other.data_ = nullptr;
    other.data_mapped_ = false;
}

Buffer::~Buffer()
{
    if (reserve_)
        munmap(reserve_, reserve_size_);
}

double Buffer::unmap_data()
{
    const double t0 = now_s();
    const int r = munmap(data_, size_);
    const double t = now_s() - t0;
    if (r != 0)
        throw BenchError(std::string("munmap: ") + std::strerror(errno));
    data_mapped_ = false;
    return t;
}

Gpu::Gpu(const simgpu::Device& d, uint32_t i) : dev(d), index(i)
{
    vm = check(simgpu::Vm::create(dev, DRM_SIMGPU_VM_CREATE_FAULT_MODE));
    check(vm.mirror());
    auto engines = dev.query_engines();
    if (engines.ok()) {
        uint32_t n = 0;
        for (const auto& e : engines.value())
            n += e.engine_class == DRM_SIMGPU_ENGINE_CLASS_COMPUTE;
        compute_engines = n ? n : 1;
    }
    const auto info = check(dev.query_device());
    caps = info.caps;
    vram_size = info.vram_size;
}

double Gpu::prefetch(uint64_t addr, uint64_t size, uint32_t region) const
{
    // The raw operation rather than a library helper: only the uAPI.
    drm_simgpu_vm_bind_op op{};
    op.op = DRM_SIMGPU_VM_BIND_OP_PREFETCH;
    op.region = region;
    op.addr = addr;
    op.range = size;
    const double t0 = now_s();
    auto r = vm.bind({&op, 1});
    const double t = now_s() - t0;
    if (!r.ok())
        throw BenchError("device " + std::to_string(index) + ": PREFETCH of " +
                         std::to_string(size) + " bytes to " +
                         (region == DRM_SIMGPU_MEM_VRAM ? "VRAM" : "system memory") + ": " +
                         r.error().message());
    return t;
}

void Gpu::madvise(uint64_t addr, uint64_t size, uint32_t attr, uint32_t value) const
{
    drm_simgpu_vm_madvise args{};
    args.vm_id = vm.id();
    args.attr = attr;
    args.start = addr;
    args.range = size;
    args.value = value;
    check(dev.ioctl(DRM_IOCTL_SIMGPU_VM_MADVISE, &args));
}

void Gpu::prefer(uint64_t addr, uint64_t size, uint32_t loc) const
{
    madvise(addr, size, DRM_SIMGPU_MADV_PREFERRED_LOC, loc);
}

uint64_t Gpu::vram_pages(uint64_t addr, uint64_t size) const
{
    const auto pages = check(vm.query_range(addr, size / page));
    uint64_t n = 0;
    for (const uint32_t p : pages)
        n += (p & DRM_SIMGPU_PAGE_MAPPED) && (p & DRM_SIMGPU_PAGE_VRAM);
    return n;
}

Queue::Queue(Gpu& gpu, uint16_t instance)
    : gpu_(gpu), control_(control_size), done_(check(simgpu::EventFd::create()))
{
    queue_ = check(simgpu::ExecQueue::create(gpu.dev, gpu.vm, DRM_SIMGPU_ENGINE_CLASS_COMPUTE,
                                             instance));
    // With VRAM migration, the GPU's first fault would move the control
    // pages to VRAM and the CPU's next batch write or fence read would
    // bring them back, in every measured job until the thrashing limit
    // keeps them in system memory: they stay there from the start.
    if (gpu.vram_migration())
        gpu.prefer(control_.gpu(), control_.size(), DRM_SIMGPU_MADV_LOC_SYSTEM);
    // Populate every control page on the CPU (so that no GPU read maps the
    // zero page that a later CPU write would replace), then let one empty
    // job fault the batch and fence pages in.
    std::memset(control_.data(), 0, control_.size());
    simgpu::BatchBuilder warm;
    warm.nop().batch_end();
    run(warm);
}

double Queue::run(const simgpu::BatchBuilder& batch)
{
    if (batch.size_bytes() > control_.size() - batch_offset)
        throw BenchError("batch of " + std::to_string(batch.size_bytes()) + " bytes too large");
    std::memcpy(control_.data() + batch_offset, batch.dwords().data(), batch.size_bytes());
    auto* fence = reinterpret_cast<uint64_t*>(control_.data());
    const uint64_t value = ++seq_;
    const drm_simgpu_sync out = simgpu::user_fence_out(control_.gpu(), value);

    const double t0 = now_s();
    check(queue_.exec(control_.gpu() + batch_offset, {&out, 1}));
    simgpu::Result<void> r;
    for (int slice = 0; slice < wait_slices; ++slice) {
        r = simgpu::wait_user_fence(gpu_.dev, fence, value, DRM_SIMGPU_CMP_EQ, wait_slice_ns,
                                    queue_.id());
        if (r.ok() || r.error().err != ETIME)
            break;
        auto st = queue_.state();
        if (st.ok() && st.value().error != 0)
            break;
    }
    const double t = now_s() - t0;
    if (r.ok())
        return t;

    std::string what = failure();
    if (what.empty() && r.error().err == ETIME)
        what = "job did not complete within " + std::to_string(wait_slices) + " s";
    else if (what.empty())
        what = "waiting for the job: " + r.error().message();
    throw BenchError(name() + what);
}

void Queue::submit(const simgpu::BatchBuilder& batch)
{
    if (batch.size_bytes() > control_.size() - batch_offset)
        throw BenchError("batch of " + std::to_string(batch.size_bytes()) + " bytes too large");
    std::memcpy(control_.data() + batch_offset, batch.dwords().data(), batch.size_bytes());
    check(done_.take());
    const drm_simgpu_sync out = simgpu::user_fence_out(control_.gpu(), ++seq_, done_.fd());
    check(queue_.exec(control_.gpu() + batch_offset, {&out, 1}));
}

void Queue::complete()
{
    check(done_.take());
    const uint64_t fence = *reinterpret_cast<const volatile uint64_t*>(control_.data());
    if (fence != seq_)
        throw BenchError(name() + "eventfd signalled with the user fence at " +
                         std::to_string(fence) + ", not " + std::to_string(seq_));
}

void Queue::check_failed() const
{
    if (std::string what = failure(); !what.empty())
        throw BenchError(name() + what);
}

std::string Queue::name() const
{
    return "device " + std::to_string(gpu_.index) + ", exec queue " +
           std::to_string(queue_.id()) + ": ";
}

std::string Queue::failure() const
{
    auto st = queue_.state();
    if (!st.ok() || st.value().error == 0)
        return "";
    return "job failed: " + job_error_text(st.value().error, st.value().fault_addr);
}

std::vector<double> run_all(std::span<Queue* const> queues,
                            std::span<const simgpu::BatchBuilder> batches)
{
    if (queues.size() != batches.size())
        throw BenchError("run_all: " + std::to_string(queues.size()) + " queues for " +
                         std::to_string(batches.size()) + " batches");
    auto waiter = check(simgpu::Waiter::create());
    for (size_t i = 0; i < queues.size(); ++i) {
        queues[i]->submit(batches[i]);
        check(waiter.add(queues[i]->done_fd(), i));
    }

    std::vector<double> end(queues.size(), 0.0);
    const double deadline = now_s() + wait_slices * (wait_slice_ns / 1e9);
    while (waiter.pending() > 0) {
        auto ready = waiter.wait(waiter_slice_ns);
        if (ready.ok()) {
            const double t = now_s();
            for (const uint64_t i : ready.value()) {
                end[i] = t;
                queues[i]->complete();
            }
            continue;
        }
        if (ready.error().err != ETIME)
            fail(ready.error());
        for (size_t i = 0; i < queues.size(); ++i)
            if (end[i] == 0.0)
                queues[i]->check_failed();
        if (now_s() > deadline)
            throw BenchError(std::to_string(waiter.pending()) + " of " +
                             std::to_string(queues.size()) + " jobs did not complete within " +
                             std::to_string(wait_slices) + " s");
    }
    return end;
}

MigrationDelta& MigrationDelta::operator+=(const MigrationDelta& o)
{
    to_vram_pages += o.to_vram_pages;
    to_ram_pages += o.to_ram_pages;
    to_ram_chunks += o.to_ram_chunks;
    evictions += o.evictions;
    evicted_pages += o.evicted_pages;
    fallbacks += o.fallbacks;
    to_vram_thp += o.to_vram_thp;
    to_ram_thp += o.to_ram_thp;
    return *this;
}

CounterDelta& CounterDelta::operator+=(const CounterDelta& o)
{
    faults += o.faults;
    pages_faulted += o.pages_faulted;
    ranges_created += o.ranges_created;
    invalidations += o.invalidations;
    if (migration && o.migration)
        *migration += *o.migration;
    else
        migration.reset();
    if (exclusive_pages && o.exclusive_pages)
        *exclusive_pages += *o.exclusive_pages;
    else
        exclusive_pages.reset();
    if (stage_ns && o.stage_ns)
        for (size_t s = 0; s < stage_ns->size(); ++s)
            (*stage_ns)[s] += (*o.stage_ns)[s];
    else
        stage_ns.reset();
    return *this;
}

CounterReader::CounterReader(uint32_t device_index)
{
    auto dirs = simgpu::counter_dirs();
    if (!dirs.ok()) {
        why_not_ = dirs.error().message();
        return;
    }
    if (device_index >= dirs.value().size()) {
        why_not_ = "no debugfs directory for device " + std::to_string(device_index);
        return;
    }
    dir_ = dirs.value()[device_index];
    if (!snapshot()) {
        why_not_ = "counter files of " + dir_->string() + " not readable";
        dir_.reset();
    }
}

std::optional<simgpu::Counters> CounterReader::snapshot() const
{
    if (!dir_)
        return std::nullopt;
    auto c = simgpu::read_device_counters(*dir_);
    if (!c.ok())
        return std::nullopt;
    return std::move(c).value();
}

std::optional<CounterDelta> CounterReader::delta(const std::optional<simgpu::Counters>& before,
                                                 const std::optional<simgpu::Counters>& after)
{
    if (!before || !after)
        return std::nullopt;
    auto diff = [&](const char* name) -> std::optional<uint64_t> {
        const auto b = simgpu::find_counter(*before, name);
        const auto a = simgpu::find_counter(*after, name);
        if (!a || !b)
            return std::nullopt;
        return *a - *b;
    };
    const auto f = diff("faults");
    const auto p = diff("pages_faulted");
    const auto r = diff("ranges_created");
    const auto i = diff("invalidations");
    if (!f || !p || !r || !i)
        return std::nullopt;
    CounterDelta d{*f, *p, *r, *i, std::nullopt, diff("exclusive_pages"), std::nullopt};
    const auto tv = diff("migrate_to_vram_pages");
    const auto tr = diff("migrate_to_ram_pages");
    const auto tc = diff("migrate_to_ram_chunks");
    const auto ev = diff("evictions");
    const auto ep = diff("evicted_pages");
    const auto fb = diff("migrate_fallbacks");
    const auto vt = diff("migrate_to_vram_thp");
    const auto rt = diff("migrate_to_ram_thp");
    if (tv && tr && tc && ev && ep && fb && vt && rt)
        d.migration = MigrationDelta{*tv, *tr, *tc, *ev, *ep, *fb, *vt, *rt};
    StageNs ns{};
    bool timed = true;
    for (size_t s = 0; s < fault_stages.size() && timed; ++s) {
        const auto v = diff(("fault_" + std::string(fault_stages[s]) + "_ns").c_str());
        timed = v.has_value();
        ns[s] = v.value_or(0);
    }
    if (timed)
        d.stage_ns = ns;
    return d;
}

namespace {
uint32_t fill_value(uint32_t seed, uint64_t i)
{
    return seed ^ static_cast<uint32_t>(i * 2654435761u);
}
} // namespace

void cpu_fill(std::byte* p, uint64_t size, uint32_t seed)
{
    auto* d = reinterpret_cast<uint32_t*>(p);
    const uint64_t n = size / sizeof(uint32_t);
    for (uint64_t i = 0; i < n; ++i)
        d[i] = fill_value(seed, i);
}

uint64_t cpu_touch(const std::byte* p, uint64_t size, uint32_t seed)
{
    const auto* d = reinterpret_cast<const volatile uint32_t*>(p);
    constexpr uint64_t per_page = page / sizeof(uint32_t);
    uint64_t bad = 0;
    for (uint64_t i = 0; i < size / sizeof(uint32_t); i += per_page)
        bad += d[i] != fill_value(seed, i);
    return bad;
}

std::optional<uint64_t> read_counter(const CounterReader& reader, const char* name)
{
    const auto c = reader.snapshot();
    if (!c)
        return std::nullopt;
    return simgpu::find_counter(*c, name);
}

} // namespace simgpu_bench
