// SPDX-License-Identifier: MIT
#include "workloads.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <malloc.h>
#include <sys/mman.h>
#include <stop_token>
#include <thread>
#include <unistd.h>

#include "hmm.hpp"
#include "simgpu/format.hpp"
#include "simgpu/procfs.hpp"

namespace simgpu_bench {
namespace {

constexpr uint64_t huge = 2 * MiB;
constexpr uint64_t page = DRM_SIMGPU_PAGE_SIZE;
constexpr uint32_t fill_pattern = 0x5eed1234;
// The largest GPU job of evict-thrash: a pass over the working set is a
// sequence of jobs this size, each well within the job timeout under TCG.
constexpr uint64_t thrash_job_bytes = 4 * MiB;

double mibps(uint64_t bytes, double seconds)
{
    return static_cast<double>(bytes) / static_cast<double>(MiB) / seconds;
}

std::string where(const std::string& workload, uint64_t size)
{
    return workload + " " + simgpu::format_bytes(size);
}

// Every dword for up to 16 MiB, a stride above (the GPU wrote all of it;
// a sample of it is enough to catch a broken job).
void check_fill(const std::string& what, const std::byte* p, uint64_t size, uint32_t pattern)
{
    const auto* d = reinterpret_cast<const uint32_t*>(p);
    const uint64_t n = size / 4;
    const uint64_t stride = size <= 16 * MiB ? 1 : 1021;
    for (uint64_t i = 0; i < n; i += stride) {
        if (d[i] != pattern)
            throw BenchError(what + ": wrong result, dword " + std::to_string(i) + " is " +
                             std::to_string(d[i]) + " after the GPU filled it with " +
                             std::to_string(pattern));
    }
    if (d[n - 1] != pattern)
        throw BenchError(what + ": wrong result in the last dword after the GPU fill");
}

void check_copy(const std::string& what, const std::byte* dst, const std::byte* src,
                uint64_t size)
{
    if (std::memcmp(dst, src, size) != 0)
        throw BenchError(what + ": the GPU copy differs from its source");
}

// Every dword still holds cpu_fill()'s pattern of @seed after the memory
// moved (the CPU reads bring pages in VRAM back first).
void check_pattern(const std::string& what, const std::byte* p, uint64_t size, uint32_t seed)
{
    std::vector<std::byte> want(size);
    cpu_fill(want.data(), size, seed);
    if (std::memcmp(p, want.data(), size) != 0)
        throw BenchError(what + ": the data changed on its way through VRAM");
}

std::string read_text(const std::string& path)
{
    std::ifstream f(path);
    std::string line;
    if (!f || !std::getline(f, line))
        return "";
    return line;
}

// MemAvailable of /proc/meminfo in bytes; 0 when unknown.
uint64_t mem_available()
{
    std::ifstream f("/proc/meminfo");
    std::string key;
    uint64_t kib = 0;
    std::string unit;
    while (f >> key >> kib >> unit) {
        if (key == "MemAvailable:")
            return kib * KiB;
    }
    return 0;
}

std::string pages_note(const char* what, uint64_t got, uint64_t want)
{
    return "only " + std::to_string(got) + " of " + std::to_string(want) + " " + what +
           " were in VRAM (VRAM full, or migration declined: see the counters)";
}

} // namespace

bool own_size(const std::string& workload)
{
    return workload == "evict-thrash" || workload == "atomics-contended";
}

Anchors::Anchors() : hmm_why_not_(HmmMirror::unavailable_reason()) {}

Bench::Bench(const Options& opt, std::vector<simgpu::Device>& devices, Anchors& anchors,
             std::string backend)
    : opt_(opt), devices_(devices), anchors_(anchors), backend_(std::move(backend))
{
    for (uint32_t i = 0; i < devices_.size(); ++i)
        counters_.push_back(std::make_unique<CounterReader>(i));
    gpu_ = std::make_unique<Gpu>(devices_[opt_.device], opt_.device);
    queue_ = std::make_unique<Queue>(*gpu_, 0);
}

void Bench::sample_done(const std::string& label)
{
    if (on_sample)
        on_sample(label);
}

Stats Bench::empty_job_us()
{
    simgpu::BatchBuilder b;
    b.nop().batch_end();
    std::vector<double> us;
    for (unsigned i = 0; i < std::max(opt_.repeat, 5u); ++i)
        us.push_back(queue_->run(b) * 1e6);
    return summarize(us);
}

const Stats& Bench::memcpy_cold(uint64_t size)
{
    if (auto it = anchors_.cold_.find(size); it != anchors_.cold_.end())
        return it->second;
    Buffer src(size);
    cpu_fill(src.data(), size, 1);
    std::vector<double> samples;
    for (unsigned r = 0; r < opt_.repeat; ++r) {
        Buffer dst(size); // never touched: memcpy takes the page faults
        const double t0 = now_s();
        std::memcpy(dst.data(), src.data(), size);
        samples.push_back(mibps(size, now_s() - t0));
    }
    return anchors_.cold_[size] = summarize(samples);
}

const Stats& Bench::memcpy_warm(uint64_t size)
{
    if (auto it = anchors_.warm_.find(size); it != anchors_.warm_.end())
        return it->second;
    Buffer src(size), dst(size);
    cpu_fill(src.data(), size, 1);
    std::memcpy(dst.data(), src.data(), size);
    // Long enough to time: about 32 MiB per sample.
    const uint64_t iters = std::clamp<uint64_t>(32 * MiB / size, 1, 4096);
    std::vector<double> samples;
    for (unsigned r = 0; r < opt_.repeat; ++r) {
        const double t0 = now_s();
        for (uint64_t i = 0; i < iters; ++i) {
            std::memcpy(dst.data(), src.data(), size);
            asm volatile("" ::: "memory");
        }
        samples.push_back(mibps(size * iters, now_s() - t0));
    }
    return anchors_.warm_[size] = summarize(samples);
}

Row Bench::mibps_row(std::string workload, uint64_t size, const std::vector<double>& samples,
                     bool cold, uint64_t anchor_size)
{
    Row row;
    row.workload = std::move(workload);
    row.size = size;
    row.unit = "MiB/s";
    row.higher_is_better = true;
    row.stats = summarize(samples);
    row.memcpy_cold = memcpy_cold(anchor_size);
    row.memcpy_warm = memcpy_warm(anchor_size);
    row.anchor_kind = cold ? "cold" : "warm";
    row.anchor = cold ? row.memcpy_cold.median : row.memcpy_warm.median;
    row.ratio = row.stats.median / row.anchor;
    return row;
}

template <typename F>
std::vector<double> Bench::sampled(const std::string& what, CounterSum& sum, F&& per_repeat)
{
    const CounterReader& cr = counters();
    const auto measured = [&](auto&& part) { return cr.measured(sum, part); };
    std::vector<double> samples;
    for (unsigned r = 0; r < opt_.repeat; ++r) {
        samples.push_back(per_repeat(r, measured));
        sample_done(what);
    }
    return samples;
}

template <typename F>
Row Bench::measure(const char* name, uint64_t size, bool cold, F&& per_repeat)
{
    CounterSum sum;
    const std::vector<double> samples = sampled(where(name, size), sum, per_repeat);
    Row row = mibps_row(name, size, samples, cold, size);
    row.counters = sum.total;
    return row;
}

std::vector<Row> Bench::run(const std::string& name, uint64_t size,
                            std::vector<Skipped>& skipped)
{
    if (name == "atomics-contended")
        return atomics_contended(skipped);
    // A device without VRAM migration skips it whole (run_workload()), not
    // size by size.
    if (name == "vram-thp-first-touch" && size % huge != 0 && vram_skip_reason(true).empty()) {
        skipped.push_back({name, simgpu::format_bytes(size) + ": whole 2 MiB huge pages only",
                           true});
        return {};
    }
    std::string reason;
    std::vector<Row> rows = run_workload(name, size, reason);
    if (!reason.empty())
        skipped.push_back({name, reason});
    return rows;
}

std::vector<Row> Bench::run_workload(const std::string& name, uint64_t size,
                                     std::string& skip_reason)
{
    if (name == "first-touch-populated")
        return first_touch_populated(size);
    if (name == "first-touch-untouched")
        return first_touch_untouched(size);
    if (name == "sparse-faults")
        return sparse_faults(size);
    if (name == "munmap-invalidate")
        return munmap_invalidate(size);
    if (name == "multi-thread-faults")
        return multi_thread_faults(size);
    if (name == "two-devices")
        return two_devices(size, skip_reason);
    const bool vram = name == "vram-first-touch" || name == "vram-thp-first-touch" ||
                      name == "prefetch-vram" ||
                      name == "prefetch-system" || name == "vram-cpu-touch" ||
                      name == "evict-thrash";
    if (vram) {
        skip_reason = vram_skip_reason(name == "vram-first-touch" ||
                                       name == "vram-thp-first-touch" || name == "evict-thrash");
        if (!skip_reason.empty())
            return {};
    }
    if (name == "vram-first-touch")
        return vram_first_touch(size);
    if (name == "vram-thp-first-touch")
        return vram_thp_first_touch(size, skip_reason);
    if (name == "prefetch-vram")
        return prefetch_vram(size);
    if (name == "prefetch-system")
        return prefetch_system(size);
    if (name == "vram-cpu-touch")
        return vram_cpu_touch(size);
    if (name == "evict-thrash")
        return evict_thrash(skip_reason);
    throw BenchError("unknown workload " + name);
}

namespace {
// The nanoseconds of fault service @sum has gathered so far.
uint64_t served_ns(const CounterSum& sum)
{
    uint64_t ns = 0;
    if (sum.total && sum.total->stage_ns)
        for (const uint64_t v : *sum.total->stage_ns)
            ns += v;
    return ns;
}
} // namespace

std::vector<Row> Bench::first_touch_split(const char* of, const std::string& prefix,
                                          uint64_t size,
                                          const std::vector<double>& service_s,
                                          const std::vector<double>& second_mibps, HmmOp op)
{
    std::vector<Row> rows;
    if (!service_s.empty()) {
        std::vector<double> mb;
        for (const double s : service_s)
            mb.push_back(s > 0 ? mibps(size, s) : 0);
        Row service = mibps_row("(" + prefix + "fault service)", size, mb, true, size);
        service.extra.emplace_back("of", json_string(of));
        attach_hmm(service, op);
        rows.push_back(std::move(service));
    }
    Row second = mibps_row("(" + prefix + "second touch)", size, second_mibps, false, size);
    second.extra.emplace_back("of", json_string(of));
    rows.push_back(std::move(second));
    return rows;
}

// The CPU fills a fresh buffer; one GPU COPY from it into a buffer the GPU
// already maps: the time is the source's GPU faults (on present pages) plus
// the copy. Then the same copy again, on pages mapped now: the copy alone.
std::vector<Row> Bench::first_touch_populated(uint64_t size)
{
    const std::string what = where("first-touch-populated", size);
    CounterSum sum;
    std::vector<double> service, second;
    bool timed = true;
    const std::vector<double> samples = sampled(what, sum, [&](unsigned r, auto measured) {
        Buffer dst(size);
        simgpu::BatchBuilder pre;
        pre.fill(dst.gpu(), size, 0).batch_end();
        queue_->run(pre);
        Buffer src(size);
        cpu_fill(src.data(), size, r + 7);

        simgpu::BatchBuilder b;
        b.copy(dst.gpu(), src.gpu(), size).batch_end();
        const uint64_t ns0 = served_ns(sum);
        const double t = measured([&] { return queue_->run(b); });
        timed = timed && sum.total && sum.total->stage_ns;
        service.push_back(static_cast<double>(served_ns(sum) - ns0) / 1e9);
        check_copy(what, dst.data(), src.data(), size);
        second.push_back(mibps(size, queue_->run(b)));
        check_copy(what, dst.data(), src.data(), size);
        return mibps(size, t);
    });
    Row row = mibps_row("first-touch-populated", size, samples, true, size);
    row.counters = sum.total;
    attach_hmm(row, HmmOp::read);
    std::vector<Row> rows{row};
    for (Row& split : first_touch_split("first-touch-populated", "", size,
                                        timed ? service : std::vector<double>{}, second,
                                        HmmOp::read))
        rows.push_back(std::move(split));
    return rows;
}

// One GPU FILL of a never-touched buffer: the GPU faults allocate the pages.
std::vector<Row> Bench::first_touch_untouched(uint64_t size)
{
    const std::string what = where("first-touch-untouched", size);
    Row row = measure("first-touch-untouched", size, true, [&](unsigned r, auto measured) {
        Buffer buf(size);
        simgpu::BatchBuilder b;
        b.fill(buf.gpu(), size, fill_pattern + r).batch_end();
        const double t = measured([&] { return queue_->run(b); });
        check_fill(what, buf.data(), size, fill_pattern + r);
        return mibps(size, t);
    });
    attach_hmm(row, HmmOp::write);
    return {row};
}

// N x 2 MiB of fresh memory, one STORE_DW per 2 MiB: N GPU faults, each
// mapping a 2 MiB range. The test_hmm anchor does the same stride one page
// at a time: migrated to its device where the GPU faults migrated (zero
// fills into VRAM), read through its mirror where they did not.
std::vector<Row> Bench::sparse_faults(uint64_t size)
{
    const std::string what = where("sparse-faults", size);
    const uint64_t n = std::max<uint64_t>(1, size / huge);
    CounterSum sum;
    // Microseconds per GPU fault.
    const std::vector<double> samples = sampled(what, sum, [&](unsigned, auto measured) {
        Buffer buf(n * huge);
        simgpu::BatchBuilder b;
        for (uint64_t i = 0; i < n; ++i)
            b.store_dw(buf.gpu() + i * huge, static_cast<uint32_t>(i + 1));
        b.batch_end();
        const double t = measured([&] { return queue_->run(b); });
        for (uint64_t i = 0; i < n; ++i) {
            if (*reinterpret_cast<const uint32_t*>(buf.data() + i * huge) != i + 1)
                throw BenchError(what + ": wrong result, STORE_DW " + std::to_string(i) +
                                 " did not land");
        }
        return t * 1e6 / static_cast<double>(n);
    });
    Row row;
    row.workload = "sparse-faults";
    row.size = size;
    row.unit = "us";
    row.higher_is_better = false;
    row.stats = summarize(samples);
    // Like with like: each GPU fault maps (and the kernel zero-fills) 2 MiB,
    // as a memcpy of 2 MiB into never-touched memory does on the CPU.
    row.memcpy_cold = memcpy_cold(n * huge);
    row.memcpy_warm = memcpy_warm(n * huge);
    row.anchor_kind = "cold";
    row.anchor = 2.0 / row.memcpy_cold.median * 1e6;
    row.ratio = row.anchor / row.stats.median;
    row.counters = sum.total;
    row.extra.emplace_back("faults_per_job", std::to_string(n));
    row.extra.emplace_back("bytes_mapped", std::to_string(n * huge));
    row.extra.emplace_back("anchor_unit", json_string("us per 2 MiB of memcpy"));
    const bool migrated =
        sum.total && sum.total->migration && sum.total->migration->to_vram_pages > 0;
    attach_hmm(row, migrated ? HmmOp::sparse_to_dev : HmmOp::sparse_read);
    return {row};
}

// The GPU maps a buffer (FILL touches every page for writing); the CPU
// munmap()s it and the MMU notifier zaps the GPU mapping. Also the same
// munmap of a CPU-touched buffer the GPU never mapped, for comparison.
std::vector<Row> Bench::munmap_invalidate(uint64_t size)
{
    const std::string what = where("munmap-invalidate", size);
    const CounterReader& cr = counters();
    CounterSum sum;
    std::vector<double> us, rate, cpu_us;
    for (unsigned r = 0; r < opt_.repeat; ++r) {
        {
            Buffer buf(size);
            simgpu::BatchBuilder b;
            b.fill(buf.gpu(), size, fill_pattern).batch_end();
            queue_->run(b);
            check_fill(what, buf.data(), size, fill_pattern);
            const double t = cr.measured(sum, [&] { return buf.unmap_data(); });
            us.push_back(t * 1e6);
            rate.push_back(mibps(size, t));
        }
        {
            Buffer buf(size);
            std::memset(buf.data(), 0x5a, size);
            cpu_us.push_back(buf.unmap_data() * 1e6);
        }
        sample_done(what);
    }
    Row mb = mibps_row("munmap-invalidate", size, rate, false, size);
    mb.counters = sum.total;
    mb.extra.emplace_back("us_per_call", json_stats(summarize(us)));
    const Stats cpu = summarize(cpu_us);
    mb.extra.emplace_back("cpu_only_munmap_us",
                          json_stats(cpu));

    Row call = mb;
    call.unit = "us";
    call.higher_is_better = false;
    call.stats = summarize(us);
    call.anchor = static_cast<double>(size) / static_cast<double>(MiB) / mb.anchor * 1e6;
    call.ratio = call.anchor / call.stats.median;

    attach_hmm(mb, HmmOp::munmap);
    attach_hmm(call, HmmOp::munmap);

    Row base = call;
    base.workload = "(munmap, no GPU map)";
    base.stats = cpu;
    base.ratio = base.anchor / base.stats.median;
    base.counters.reset();
    base.hmm.reset();
    return {mb, call, base};
}

// T exec queues on the one VM (--threads), each FILLs its own
// never-touched buffer, all submitted at once from this thread and waited
// for together (run_all()): aggregate MiB/s over the span from the first
// submission to the last completion.
std::vector<Row> Bench::multi_thread_faults(uint64_t size)
{
    const std::string what = where("multi-thread-faults", size);
    const unsigned nt = opt_.threads;
    std::vector<std::unique_ptr<Queue>> queues;
    std::vector<Queue*> targets;
    for (unsigned t = 0; t < nt; ++t) {
        queues.push_back(
            std::make_unique<Queue>(*gpu_, static_cast<uint16_t>(t % gpu_->compute_engines)));
        targets.push_back(queues.back().get());
    }

    Row row = measure("multi-thread-faults", size, true, [&](unsigned, auto measured) {
        std::vector<Buffer> bufs;
        bufs.reserve(nt);
        std::vector<simgpu::BatchBuilder> batches(nt);
        for (unsigned t = 0; t < nt; ++t) {
            bufs.emplace_back(size);
            batches[t].fill(bufs[t].gpu(), size, fill_pattern + t).batch_end();
        }
        // From the first submission to the last completion.
        const double span = measured([&] {
            const double start = now_s();
            const std::vector<double> end = run_all(targets, batches);
            return *std::max_element(end.begin(), end.end()) - start;
        });
        for (unsigned t = 0; t < nt; ++t)
            check_fill(what + " queue " + std::to_string(t), bufs[t].data(), size,
                       fill_pattern + t);
        return mibps(size * nt, span);
    });
    row.extra.emplace_back("threads", std::to_string(nt));
    row.extra.emplace_back("anchor_note",
                           json_string("one CPU thread's memcpy of one buffer of size"));
    return {row};
}

// The CPU fills one malloc()'d buffer; each device (its own VM mirroring
// this process) COPYs it into a buffer it already maps, device after
// device: MiB/s per device.
std::vector<Row> Bench::two_devices(uint64_t size, std::string& skip_reason)
{
    uint32_t other = opt_.device;
    for (uint32_t i = 0; i < devices_.size(); ++i) {
        if (i != opt_.device) {
            other = i;
            break;
        }
    }
    if (other == opt_.device) {
        skip_reason = "only " + std::to_string(devices_.size()) + " simgpu device";
        return {};
    }
    // Every malloc() of a page or more is a fresh mmap: without this, glibc
    // raises its mmap threshold after the first free() and later buffers
    // come back from the heap already touched (and GPU-mapped).
    mallopt(M_MMAP_THRESHOLD, 4096);

    if (!gpu1_) {
        gpu1_ = std::make_unique<Gpu>(devices_[other], other);
        queue1_ = std::make_unique<Queue>(*gpu1_, 0);
    }
    Queue* queues[2] = {queue_.get(), queue1_.get()};
    const uint32_t ids[2] = {opt_.device, other};
    const std::string what = where("two-devices", size);

    CounterSum sums[2];
    std::vector<double> samples[2];
    for (unsigned r = 0; r < opt_.repeat; ++r) {
        Buffer dst0(size), dst1(size);
        Buffer* dsts[2] = {&dst0, &dst1};
        // Both devices map their destination at once, untimed.
        simgpu::BatchBuilder pre[2];
        for (int d = 0; d < 2; ++d)
            pre[d].fill(dsts[d]->gpu(), size, 0).batch_end();
        run_all(queues, pre);
        std::unique_ptr<std::byte, decltype(&std::free)> src(
            static_cast<std::byte*>(std::malloc(size)), &std::free);
        if (!src)
            throw BenchError(what + ": malloc failed");
        cpu_fill(src.get(), size, r + 11);
        const uint64_t src_gpu = reinterpret_cast<uintptr_t>(src.get());
        for (int d = 0; d < 2; ++d) {
            simgpu::BatchBuilder b;
            b.copy(dsts[d]->gpu(), src_gpu, size).batch_end();
            const CounterReader& cr = *counters_[ids[d]];
            const double t = cr.measured(sums[d], [&] { return queues[d]->run(b); });
            check_copy(what + " device " + std::to_string(ids[d]), dsts[d]->data(), src.get(),
                       size);
            samples[d].push_back(mibps(size, t));
        }
        sample_done(what);
    }
    std::vector<Row> rows;
    for (int d = 0; d < 2; ++d) {
        Row row = mibps_row("two-devices/dev" + std::to_string(ids[d]), size, samples[d], true,
                            size);
        row.counters = sums[d].total;
        row.extra.emplace_back("device", std::to_string(ids[d]));
        row.extra.emplace_back("order", std::to_string(d));
        rows.push_back(std::move(row));
    }
    return rows;
}

// ---- atomics ----

namespace {

constexpr unsigned atomics_per_job = 48;
// Between two increments of the CPU thread.
constexpr auto cpu_pause = std::chrono::microseconds(500);
// Increments in a sample of the CPU anchor.
constexpr uint64_t cpu_atomics_per_sample = uint64_t{1} << 18;
// Grabs in a sample of the test_hmm exclusive anchor.
constexpr unsigned exclusive_grabs = 128;

struct AtomicPolicy {
    const char* row;   // row name suffix
    const char* name;  // as MADVISE names it
    uint32_t value;    // DRM_SIMGPU_MADV_ATOMIC_*
};

constexpr AtomicPolicy atomic_policies[] = {
    {"default", "ATOMIC_DEFAULT", DRM_SIMGPU_MADV_ATOMIC_DEFAULT},
    {"global", "ATOMIC_GLOBAL", DRM_SIMGPU_MADV_ATOMIC_GLOBAL},
    {"device", "ATOMIC_DEVICE", DRM_SIMGPU_MADV_ATOMIC_DEVICE},
};

// One CPU thread's __atomic_fetch_add on a counter no other thread or
// device touches: increments per second, @repeat samples.
Stats cpu_atomic_rate(unsigned repeat)
{
    Buffer buf(page);
    auto* counter = reinterpret_cast<uint64_t*>(buf.data());
    *counter = 0;
    std::vector<double> samples;
    for (unsigned r = 0; r < repeat; ++r) {
        const double t0 = now_s();
        for (uint64_t i = 0; i < cpu_atomics_per_sample; ++i)
            __atomic_fetch_add(counter, 1, __ATOMIC_SEQ_CST);
        samples.push_back(static_cast<double>(cpu_atomics_per_sample) / (now_s() - t0));
    }
    if (*counter != cpu_atomics_per_sample * repeat)
        throw BenchError("atomics-contended CPU anchor: the counter is " +
                         std::to_string(*counter) + " after " +
                         std::to_string(cpu_atomics_per_sample * repeat) + " increments");
    return summarize(samples);
}

// One sample of a policy: rates over the time the GPU jobs ran.
struct AtomicsSample {
    double gpu_per_s = 0;
    double cpu_per_s = 0;
    uint64_t jobs = 0;
};

} // namespace

// A counter in a fresh 2 MiB buffer the CPU faulted in, with MADVISE
// ATOMIC set to each policy the device allows (default attributes for
// ATOMIC_DEFAULT): GPU jobs of atomics_per_job atomics on it, one after
// the other for Options::atomics_sample_ms, while a CPU thread increments
// it with __atomic_fetch_add every cpu_pause. GPU atomics per second, the
// CPU's increments meanwhile, and the counter checked against both every
// sample.
std::vector<Row> Bench::atomics_contended(std::vector<Skipped>& skipped)
{
    std::vector<const AtomicPolicy*> policies;
    for (const AtomicPolicy& p : atomic_policies) {
        std::string why;
        if (p.value != DRM_SIMGPU_MADV_ATOMIC_DEFAULT && !gpu_->atomic_hold())
            why = "device " + std::to_string(gpu_->index) +
                  " cannot hold pages for GPU atomics (DRM_SIMGPU_CAP_ATOMIC_HOLD clear: a "
                  "kernel without CONFIG_DEVICE_PRIVATE)";
        if (why.empty())
            policies.push_back(&p);
        else
            skipped.push_back({std::string("atomics-contended/") + p.row,
                               std::string("MADVISE ") + p.name + " is refused (EOPNOTSUPP): " +
                                   why});
    }
    const CounterReader& cr = counters();
    const double budget = opt_.atomics_sample_ms / 1e3;
    auto sample = [&](const AtomicPolicy& p, CounterSum& sum) {
        const std::string what = std::string("atomics-contended ") + p.name;
        Buffer buf(huge);
        std::memset(buf.data(), 0, buf.size());
        auto* counter = reinterpret_cast<uint64_t*>(buf.data());
        if (p.value != DRM_SIMGPU_MADV_ATOMIC_DEFAULT)
            gpu_->madvise(buf.gpu(), buf.size(), DRM_SIMGPU_MADV_ATOMIC, p.value);
        uint64_t adds_per_job = 0;
        const simgpu::BatchBuilder job = atomics_job(buf.gpu(), atomics_per_job, adds_per_job);

        AtomicsSample s;
        std::atomic<uint64_t> cpu_incs{0};
        const auto before = cr.snapshot();
        {
            std::jthread cpu([&](std::stop_token stop) {
                while (!stop.stop_requested()) {
                    __atomic_fetch_add(counter, 1, __ATOMIC_SEQ_CST);
                    cpu_incs.fetch_add(1, std::memory_order_relaxed);
                    std::this_thread::sleep_for(cpu_pause);
                }
            });
            while (cpu_incs.load() == 0)
                std::this_thread::yield();
            const uint64_t incs0 = cpu_incs.load();
            const double t0 = now_s();
            do {
                queue_->run(job);
                ++s.jobs;
            } while (now_s() - t0 < budget);
            const double t = now_s() - t0;
            s.cpu_per_s = static_cast<double>(cpu_incs.load() - incs0) / t;
            s.gpu_per_s = static_cast<double>(s.jobs * atomics_per_job) / t;
        }
        sum.add(CounterReader::delta(before, cr.snapshot()));
        const uint64_t cpu = cpu_incs.load();
        const uint64_t gpu = s.jobs * adds_per_job;
        const uint64_t got = __atomic_load_n(counter, __ATOMIC_SEQ_CST);
        if (got != cpu + gpu)
            throw BenchError(what + ": wrong result, the counter is " + std::to_string(got) +
                             ", not " + std::to_string(cpu + gpu) + " (" + std::to_string(cpu) +
                             " CPU increments + " + std::to_string(gpu) + " added by " +
                             std::to_string(s.jobs) + " GPU jobs)");
        return s;
    };

    std::vector<CounterSum> sums(policies.size());
    std::vector<std::vector<double>> gpu_rates(policies.size()), cpu_rates(policies.size());
    std::vector<uint64_t> jobs(policies.size(), 0);
    std::vector<unsigned> cpu_idle(policies.size(), 0);
    for (unsigned r = 0; r < opt_.repeat; ++r) {
        // Policy after policy in each round, so that a slower stretch of
        // the host spreads over all of them.
        for (size_t i = 0; i < policies.size(); ++i) {
            const AtomicsSample s = sample(*policies[i], sums[i]);
            gpu_rates[i].push_back(s.gpu_per_s);
            cpu_rates[i].push_back(s.cpu_per_s);
            jobs[i] += s.jobs;
            cpu_idle[i] += s.cpu_per_s == 0;
        }
        sample_done("atomics-contended");
    }

    const Stats cpu_alone = cpu_atomic_rate(opt_.repeat);
    const std::string timeslice = read_text("/sys/module/simgpu/parameters/svm_timeslice_ms");
    std::vector<Row> rows;
    for (size_t i = 0; i < policies.size(); ++i) {
        const AtomicPolicy& p = *policies[i];
        Row row;
        row.workload = std::string("atomics-contended/") + p.row;
        row.size = huge;
        row.unit = "ops/s";
        row.higher_is_better = true;
        row.stats = summarize(gpu_rates[i]);
        row.anchor = cpu_alone.median;
        row.anchor_kind = "cpu";
        row.ratio = row.stats.median / row.anchor;
        row.counters = sums[i].total;
        const Stats cpu = summarize(cpu_rates[i]);
        row.extra.emplace_back("policy", json_string(p.name));
        row.extra.emplace_back("atomics_per_job", std::to_string(atomics_per_job));
        row.extra.emplace_back("gpu_jobs", std::to_string(jobs[i]));
        row.extra.emplace_back("sample_ms", std::to_string(opt_.atomics_sample_ms));
        row.extra.emplace_back("cpu_increments_per_s", json_stats(cpu));
        row.extra.emplace_back("cpu_pause_us", std::to_string(cpu_pause.count()));
        row.extra.emplace_back("cpu_alone_per_s", json_stats(cpu_alone));
        row.extra.emplace_back("anchor_note",
                               json_string("one CPU thread's __atomic_fetch_add on a counter "
                                           "no one else touches, without pauses"));
        if (!timeslice.empty())
            row.extra.emplace_back("svm_timeslice_ms", timeslice);
        std::string note = "CPU meanwhile " + format_number(cpu.median) +
                           " increments/s (median; one per " +
                           std::to_string(cpu_pause.count()) + " us at most)";
        if (const auto& c = row.counters) {
            note += "; " + std::to_string(c->faults) + " faults";
            if (c->exclusive_pages)
                note += ", " + std::to_string(*c->exclusive_pages) + " pages taken exclusive";
            if (c->migration)
                note += ", " + std::to_string(c->migration->to_vram_pages) + " pages to VRAM, " +
                        std::to_string(c->migration->to_ram_pages) + " back";
            note += " in " + std::to_string(opt_.repeat) + " samples";
        }
        row.notes.push_back(note);
        if (cpu_idle[i])
            row.notes.push_back("the CPU thread made no increment while the GPU ran in " +
                                std::to_string(cpu_idle[i]) + " of " +
                                std::to_string(opt_.repeat) + " samples");
        if (p.value == DRM_SIMGPU_MADV_ATOMIC_GLOBAL)
            attach_hmm(row, HmmOp::exclusive);
        rows.push_back(std::move(row));
    }
    return rows;
}

// ---- VRAM migration ----

std::string Bench::vram_skip_reason(bool needs_fault_migration) const
{
    if (!gpu_->vram_migration())
        return "device " + std::to_string(gpu_->index) +
               " has no VRAM migration (DRM_SIMGPU_CAP_VRAM_MIGRATION clear: a kernel without "
               "CONFIG_DEVICE_PRIVATE)";
    if (needs_fault_migration) {
        const std::string m = read_text("/sys/module/simgpu/parameters/svm_migrate");
        if (m == "N" || m == "0")
            return "fault-driven migration is off (simgpu svm_migrate=" + m + ")";
    }
    return "";
}

// The CPU fills a fresh buffer; one GPU COPY from it into a buffer already
// in VRAM: the GPU faults on the source migrate it to VRAM (the time is
// the faults, the migration copies and the GPU copy). Then the same with
// the source's preferred location set to system memory (MADVISE
// PREFERRED_LOC = LOC_SYSTEM): the faults map it in place. Each is split
// into the faults' service time and the copy again on mapped pages.
std::vector<Row> Bench::vram_first_touch(uint64_t size)
{
    const std::string what = where("vram-first-touch", size);
    const CounterReader& cr = counters();
    CounterSum sum, in_place_sum;
    std::vector<double> samples, in_place;
    std::vector<double> service[2], second[2];
    bool timed = true;
    uint64_t vram = 0, in_place_vram = 0;
    for (unsigned r = 0; r < opt_.repeat; ++r) {
        for (const bool migrate : {true, false}) {
            Buffer dst(size);
            simgpu::BatchBuilder pre;
            pre.fill(dst.gpu(), size, 0).batch_end();
            queue_->run(pre);
            Buffer src(size);
            if (!migrate)
                gpu_->prefer(src.gpu(), size, DRM_SIMGPU_MADV_LOC_SYSTEM);
            cpu_fill(src.data(), size, r + 31);

            simgpu::BatchBuilder b;
            b.copy(dst.gpu(), src.gpu(), size).batch_end();
            CounterSum& s = migrate ? sum : in_place_sum;
            const uint64_t ns0 = served_ns(s);
            const double t = cr.measured(s, [&] { return queue_->run(b); });
            timed = timed && s.total && s.total->stage_ns;
            service[migrate].push_back(static_cast<double>(served_ns(s) - ns0) / 1e9);
            (migrate ? vram : in_place_vram) += gpu_->vram_pages(src.gpu(), size);
            check_copy(what, dst.data(), src.data(), size);
            second[migrate].push_back(mibps(size, queue_->run(b)));
            (migrate ? samples : in_place).push_back(mibps(size, t));
        }
        sample_done(what);
    }
    const uint64_t want = size / page * opt_.repeat;
    Row row = mibps_row("vram-first-touch", size, samples, true, size);
    row.counters = sum.total;
    row.extra.emplace_back("src_pages_in_vram", std::to_string(vram));
    row.extra.emplace_back("src_pages", std::to_string(want));
    if (vram < want)
        row.notes.push_back(pages_note("source pages", vram, want));
    attach_hmm(row, HmmOp::to_dev);

    Row base = mibps_row("(in place, LOC_SYSTEM)", size, in_place, true, size);
    base.counters = in_place_sum.total;
    base.extra.emplace_back("of", json_string("vram-first-touch"));
    base.extra.emplace_back("src_pages_in_vram", std::to_string(in_place_vram));
    attach_hmm(base, HmmOp::read);
    std::vector<Row> rows{row};
    for (const bool migrate : {true, false}) {
        if (!migrate)
            rows.push_back(base);
        for (Row& split : first_touch_split(
                 "vram-first-touch", migrate ? "" : "in place: ", size,
                 timed ? service[migrate] : std::vector<double>{}, second[migrate],
                 migrate ? HmmOp::to_dev : HmmOp::read))
            rows.push_back(std::move(split));
    }
    return rows;
}

// vram-first-touch on a source the CPU fills through transparent huge
// pages (MADV_HUGEPAGE): each 2 MiB moves to VRAM as one compound device
// folio (simgpu svm_device_thp=1, the default), and then, for comparison,
// as 512 device pages (svm_device_thp=0; the simgpu core only: drm_pagemap
// always moves an aligned 2 MiB as one folio). The parameter is restored.
std::vector<Row> Bench::vram_thp_first_touch(uint64_t size, std::string& skip_reason)
{
    const std::string param = "/sys/module/simgpu/parameters/svm_device_thp";
    const std::string old = read_text(param);
    if (old.empty() || ::access(param.c_str(), W_OK) != 0) {
        skip_reason = "cannot switch " + param + " (this simgpu, or not root)";
        return {};
    }
    const auto set_param = [&](const std::string& v) {
        std::ofstream f(param);
        f << v;
        if (!f.flush())
            throw BenchError("cannot write " + param);
    };
    const std::string what = where("vram-thp-first-touch", size);
    const std::vector<int> modes =
        backend_ == "kernel" ? std::vector<int>{1} : std::vector<int>{1, 0};
    const CounterReader& cr = counters();
    CounterSum sums[2];
    std::vector<double> samples[2];
    uint64_t vram[2] = {0, 0}, huge_kb[2] = {0, 0};
    try {
        for (unsigned r = 0; r < opt_.repeat; ++r) {
            for (const int folio : modes) {
                set_param(folio ? "1" : "0");
                Buffer dst(size);
                simgpu::BatchBuilder pre;
                pre.fill(dst.gpu(), size, 0).batch_end();
                queue_->run(pre);
                Buffer src(size);
                if (::madvise(src.data(), size, MADV_HUGEPAGE) != 0)
                    throw BenchError(std::string("madvise(MADV_HUGEPAGE): ") + std::strerror(errno));
                cpu_fill(src.data(), size, r + 41);
                huge_kb[folio] += simgpu::anon_huge_kb(src.data());

                simgpu::BatchBuilder b;
                b.copy(dst.gpu(), src.gpu(), size).batch_end();
                const double t = cr.measured(sums[folio], [&] { return queue_->run(b); });
                vram[folio] += gpu_->vram_pages(src.gpu(), size);
                check_copy(what, dst.data(), src.data(), size);
                samples[folio].push_back(mibps(size, t));
            }
            sample_done(what);
        }
    } catch (...) {
        set_param(old == "Y" ? "1" : "0");
        throw;
    }
    set_param(old == "Y" ? "1" : "0");

    const uint64_t want = size / page * opt_.repeat;
    std::vector<Row> rows;
    for (const int folio : modes) {
        Row row = mibps_row(folio ? "vram-thp-first-touch" : "(4 KiB device pages)", size,
                            samples[folio], true, size);
        row.counters = sums[folio].total;
        row.extra.emplace_back("svm_device_thp", folio ? "1" : "0");
        row.extra.emplace_back("src_pages_in_vram", std::to_string(vram[folio]));
        row.extra.emplace_back("src_anon_huge_kb", std::to_string(huge_kb[folio]));
        if (!folio)
            row.extra.emplace_back("of", json_string("vram-thp-first-touch"));
        if (vram[folio] < want)
            row.notes.push_back(pages_note("source pages", vram[folio], want));
        if (huge_kb[folio] < size / KiB * opt_.repeat)
            row.notes.push_back("the source was not all THP-backed (AnonHugePages " +
                                std::to_string(huge_kb[folio]) + " kB over the samples)");
        if (const auto& c = row.counters; folio && c && c->migration)
            row.notes.push_back(std::to_string(c->migration->to_vram_thp) +
                                " compound device folios of 2 MiB");
        attach_hmm(row, HmmOp::to_dev);
        rows.push_back(std::move(row));
    }
    return rows;
}

// The CPU fills a fresh buffer; VM_BIND PREFETCH moves it to VRAM (and
// maps it): the time of the ioctl.
std::vector<Row> Bench::prefetch_vram(uint64_t size)
{
    const std::string what = where("prefetch-vram", size);
    uint64_t vram = 0;
    // A copy into memory that exists: the warm memcpy.
    Row row = measure("prefetch-vram", size, false, [&](unsigned r, auto measured) {
        Buffer buf(size);
        cpu_fill(buf.data(), size, r + 41);
        const double t =
            measured([&] { return gpu_->prefetch(buf.gpu(), size, DRM_SIMGPU_MEM_VRAM); });
        vram += gpu_->vram_pages(buf.gpu(), size);
        check_pattern(what, buf.data(), size, r + 41);
        return mibps(size, t);
    });
    const uint64_t want = size / page * opt_.repeat;
    row.extra.emplace_back("pages_in_vram", std::to_string(vram));
    row.extra.emplace_back("pages", std::to_string(want));
    if (vram < want)
        row.notes.push_back(pages_note("pages", vram, want));
    attach_hmm(row, HmmOp::to_dev);
    return {row};
}

// A CPU-filled buffer prefetched to VRAM (untimed); VM_BIND PREFETCH to
// system memory brings it back: the time of that ioctl.
std::vector<Row> Bench::prefetch_system(uint64_t size)
{
    const std::string what = where("prefetch-system", size);
    uint64_t vram = 0, left = 0;
    // System pages are allocated for the data: the cold memcpy.
    Row row = measure("prefetch-system", size, true, [&](unsigned r, auto measured) {
        Buffer buf(size);
        cpu_fill(buf.data(), size, r + 51);
        gpu_->prefetch(buf.gpu(), size, DRM_SIMGPU_MEM_VRAM);
        vram += gpu_->vram_pages(buf.gpu(), size);
        const double t =
            measured([&] { return gpu_->prefetch(buf.gpu(), size, DRM_SIMGPU_MEM_SYSTEM); });
        left += gpu_->vram_pages(buf.gpu(), size);
        check_pattern(what, buf.data(), size, r + 51);
        return mibps(size, t);
    });
    const uint64_t want = size / page * opt_.repeat;
    row.extra.emplace_back("pages_in_vram_before", std::to_string(vram));
    row.extra.emplace_back("pages_in_vram_after", std::to_string(left));
    row.extra.emplace_back("pages", std::to_string(want));
    if (vram < want)
        row.notes.push_back(pages_note("pages (before the prefetch to system)", vram, want));
    if (left)
        row.notes.push_back(std::to_string(left) + " pages still in VRAM after the prefetch");
    attach_hmm(row, HmmOp::to_sys);
    return {row};
}

// A CPU-filled buffer prefetched to VRAM (untimed); the CPU reads one dword
// of every page: each CPU fault on a device page migrates its chunk back.
std::vector<Row> Bench::vram_cpu_touch(uint64_t size)
{
    const std::string what = where("vram-cpu-touch", size);
    uint64_t vram = 0;
    // Each sample's buffer is new: its first migration holds nothing for
    // the GPU (only thrashing ranges wait out svm_timeslice_ms), so the
    // CPU's touch right after it is the way back and nothing else.
    Row row = measure("vram-cpu-touch", size, true, [&](unsigned r, auto measured) {
        Buffer buf(size);
        cpu_fill(buf.data(), size, r + 61);
        gpu_->prefetch(buf.gpu(), size, DRM_SIMGPU_MEM_VRAM);
        vram += gpu_->vram_pages(buf.gpu(), size);
        uint64_t bad = 0;
        const double t = measured([&] {
            const double t0 = now_s();
            bad = cpu_touch(buf.data(), size, r + 61);
            return now_s() - t0;
        });
        if (bad)
            throw BenchError(what + ": " + std::to_string(bad) +
                             " pages read wrong after migrating back from VRAM");
        check_pattern(what, buf.data(), size, r + 61);
        return mibps(size, t);
    });
    const uint64_t want = size / page * opt_.repeat;
    row.extra.emplace_back("pages_in_vram_before", std::to_string(vram));
    row.extra.emplace_back("pages", std::to_string(want));
    if (vram < want)
        row.notes.push_back(pages_note("pages (before the CPU touch)", vram, want));
    attach_hmm(row, HmmOp::fault_back);
    return {row};
}

// A CPU-filled working set of twice VRAM; the GPU FILLs all of it, pass
// after pass, in jobs of thrash_job_bytes. After a first pass (untimed),
// every pass finds each chunk evicted since it last touched it: MiB/s of
// a pass in that steady state, with the evictions and fallbacks it took.
std::vector<Row> Bench::evict_thrash(std::string& skip_reason)
{
    const uint64_t vram = gpu_->vram_size;
    const uint64_t set = 2 * vram;
    const std::string vram_text = simgpu::format_bytes(vram);
    if (set > opt_.thrash_max) {
        // vram_size is in MiB and even.
        const uint64_t fits = opt_.thrash_max / 2 / MiB / 2 * 2;
        skip_reason = "VRAM is " + vram_text + ": a working set of twice that (" +
                      simgpu::format_bytes(set) + ") is over the " +
                      simgpu::format_bytes(opt_.thrash_max) +
                      " limit of this run (--thrash-max: each pass takes seconds under "
                      "emulation); raise it, or load simgpu with a smaller VRAM" +
                      (fits >= 2 ? " (modprobe simgpu vram_size=" + std::to_string(fits) + ")"
                                 : std::string());
        return {};
    }
    const uint64_t avail = mem_available();
    if (avail && set * 4 > avail) {
        skip_reason = "a working set of twice VRAM (" + simgpu::format_bytes(set) +
                      ") needs 4 times that in available memory, the system has " +
                      simgpu::format_bytes(avail);
        return {};
    }
    const std::string what = where("evict-thrash", set);
    const CounterReader& cr = counters();

    // Chunks of buffers freed just before return their VRAM from a worker:
    // start from an empty VRAM when the counters tell.
    for (int i = 0; i < 200; ++i) {
        const auto used = read_counter(cr, "vram_used_svm");
        if (!used || *used == 0)
            break;
        usleep(10'000);
    }
    const auto used_bo = read_counter(cr, "vram_used_bo");
    const auto used_svm = read_counter(cr, "vram_used_svm");

    Buffer buf(set);
    cpu_fill(buf.data(), set, 71);
    const uint64_t job = std::min(set, thrash_job_bytes);
    auto pass = [&](uint32_t pattern) {
        double t = 0;
        for (uint64_t off = 0; off < set; off += job) {
            simgpu::BatchBuilder b;
            b.fill(buf.gpu() + off, std::min(job, set - off), pattern).batch_end();
            t += queue_->run(b);
        }
        return t;
    };
    CounterSum first_sum, sum;
    const double first = cr.measured(first_sum, [&] { return pass(fill_pattern); });
    std::vector<double> samples;
    std::vector<std::string> per_pass;
    std::string passes_text;
    uint32_t pattern = fill_pattern;
    for (unsigned r = 0; r < opt_.repeat; ++r) {
        pattern = fill_pattern + r + 1;
        CounterSum one;
        const double t = cr.measured(one, [&] { return pass(pattern); });
        sum.add(one.total);
        samples.push_back(mibps(set, t));
        // Passes differ: a range that went to VRAM SVM_THRASH_MIGRATIONS
        // times stays in system memory, so later passes stop migrating.
        JsonObject o;
        o.number("mib_s", samples.back());
        passes_text += (r ? ", " : "") + format_number(samples.back()) + " MiB/s";
        if (one.total && one.total->migration) {
            const MigrationDelta& m = *one.total->migration;
            o.integer("pages_faulted", one.total->pages_faulted)
                .integer("migrate_to_vram_pages", m.to_vram_pages)
                .integer("evictions", m.evictions)
                .integer("migrate_fallbacks", m.fallbacks);
            passes_text += " (" + std::to_string(m.to_vram_pages) + " pages in)";
        }
        per_pass.push_back(o.str());
        sample_done(what);
    }
    check_fill(what, buf.data(), set, pattern);

    Row row = mibps_row("evict-thrash", set, samples, true, set);
    row.counters = sum.total;
    row.extra.emplace_back("vram_size", std::to_string(vram));
    row.extra.emplace_back("job_bytes", std::to_string(job));
    row.extra.emplace_back("first_pass_mib_s", json_number(mibps(set, first)));
    if (first_sum.total && first_sum.total->migration) {
        const MigrationDelta& m = *first_sum.total->migration;
        row.extra.emplace_back("first_pass_counters",
                               JsonObject()
                                   .integer("migrate_to_vram_pages", m.to_vram_pages)
                                   .integer("evictions", m.evictions)
                                   .integer("evicted_pages", m.evicted_pages)
                                   .integer("migrate_fallbacks", m.fallbacks)
                                   .str());
    }
    if (used_bo)
        row.extra.emplace_back("vram_used_bo_at_start", std::to_string(*used_bo));
    if (used_svm)
        row.extra.emplace_back("vram_used_svm_at_start", std::to_string(*used_svm));
    const std::string age = read_text("/sys/module/simgpu/parameters/svm_evict_age_ms");
    if (!age.empty())
        row.extra.emplace_back("svm_evict_age_ms", age);
    std::string passes = "[";
    for (size_t i = 0; i < per_pass.size(); ++i)
        passes += (i ? ", " : "") + per_pass[i];
    row.extra.emplace_back("passes", passes + "]");
    if (row.counters && row.counters->migration) {
        const MigrationDelta& m = *row.counters->migration;
        const uint64_t faulted = row.counters->pages_faulted;
        // Pages a fault mapped where they were: young VRAM (fallbacks) or
        // ranges past the thrashing limit, which no counter of its own shows.
        const uint64_t in_place = faulted > m.to_vram_pages ? faulted - m.to_vram_pages : 0;
        row.extra.emplace_back("faulted_not_migrated_pages", std::to_string(in_place));
        row.notes.push_back(std::to_string(opt_.repeat) + " passes: " +
                            std::to_string(m.evictions) + " evictions (" +
                            std::to_string(m.evicted_pages) + " pages), " +
                            std::to_string(m.to_vram_pages) + " pages migrated in, " +
                            std::to_string(in_place) + " faulted in place (" +
                            std::to_string(m.fallbacks) + " migrate_fallbacks)");
    }
    row.notes.push_back("per pass: " + passes_text);
    row.extra.emplace_back("test_hmm_note",
                           json_string("no test_hmm equivalent: test_hmm never evicts (its "
                                       "device memory grows in 256 MiB chunks)"));
    return {row};
}

// ---- test_hmm anchors ----

namespace {

// Indexed by HmmOp, in its order.
const char* hmm_op_name(int op)
{
    static const char* const names[] = {"read",      "write",     "to-dev",
                                        "to-sys",    "cpu-fault", "munmap",
                                        "exclusive", "sparse-read", "sparse-to-dev"};
    return names[op];
}

} // namespace

const std::vector<double>* Bench::hmm_seconds(HmmOp op, uint64_t size, std::string& why_not)
{
    if (!anchors_.hmm_why_not_.empty()) {
        why_not = anchors_.hmm_why_not_;
        return nullptr;
    }
    if (op == HmmOp::to_sys && HmmMirror::to_sys_ioctl().empty()) {
        why_not = "the test_hmm uAPI has no migrate-to-system ioctl";
        return nullptr;
    }
    if (op == HmmOp::exclusive && HmmMirror::exclusive_ioctl().empty()) {
        why_not = "the test_hmm uAPI has no HMM_DMIRROR_EXCLUSIVE";
        return nullptr;
    }
    const auto key = std::make_pair(op, size);
    if (auto it = anchors_.hmm_.find(key); it != anchors_.hmm_.end())
        return &it->second;
    if (auto it = anchors_.hmm_failed_.find(key); it != anchors_.hmm_failed_.end()) {
        why_not = it->second;
        return nullptr;
    }

    const std::string what =
        std::string("test_hmm ") + hmm_op_name(static_cast<int>(op)) + " " +
        simgpu::format_bytes(size);
    try {
        // Opened for this anchor only: its MMU notifier covers the whole
        // process and would tax the simgpu workloads.
        HmmMirror mirror;
        Buffer bounce(size);
        std::memset(bounce.data(), 0, size);
        // The exclusive anchor migrates nothing.
        if (!anchors_.hmm_warm_ && op != HmmOp::exclusive) {
            Buffer w(page);
            std::memset(w.data(), 1, page);
            mirror.migrate_to_dev(w.data(), page, bounce.data());
            anchors_.hmm_warm_ = true;
        }
        std::vector<double> samples;
        for (unsigned r = 0; r < opt_.repeat; ++r) {
            const uint32_t seed = r + 81;
            Buffer buf(size);
            double t = 0;
            switch (op) {
            case HmmOp::read:
                cpu_fill(buf.data(), size, seed);
                t = mirror.read(buf.data(), size, bounce.data());
                check_copy(what, bounce.data(), buf.data(), size);
                break;
            case HmmOp::write:
                cpu_fill(bounce.data(), size, seed);
                t = mirror.write(buf.data(), size, bounce.data());
                check_copy(what, buf.data(), bounce.data(), size);
                break;
            case HmmOp::to_dev:
                cpu_fill(buf.data(), size, seed);
                t = mirror.migrate_to_dev(buf.data(), size, bounce.data());
                check_pattern(what, bounce.data(), size, seed);
                break;
            case HmmOp::to_sys:
                cpu_fill(buf.data(), size, seed);
                mirror.migrate_to_dev(buf.data(), size, bounce.data());
                t = mirror.migrate_to_sys(buf.data(), size);
                check_pattern(what, buf.data(), size, seed);
                break;
            case HmmOp::fault_back: {
                cpu_fill(buf.data(), size, seed);
                mirror.migrate_to_dev(buf.data(), size, bounce.data());
                const double t0 = now_s();
                const uint64_t bad = cpu_touch(buf.data(), size, seed);
                t = now_s() - t0;
                if (bad)
                    throw BenchError(what + ": " + std::to_string(bad) + " pages read wrong");
                break;
            }
            case HmmOp::munmap:
                std::memset(bounce.data(), 0x5a, size);
                mirror.write(buf.data(), size, bounce.data());
                t = buf.unmap_data();
                break;
            case HmmOp::exclusive: {
                // The device takes the page, reads it back; the CPU's
                // atomic takes it back. Seconds per grab.
                auto* counter = reinterpret_cast<uint64_t*>(buf.data());
                std::memset(buf.data(), 0, size);
                const double t0 = now_s();
                for (uint64_t g = 0; g < exclusive_grabs; ++g) {
                    mirror.exclusive(buf.data(), size, bounce.data());
                    const uint64_t seen = *reinterpret_cast<const uint64_t*>(bounce.data());
                    if (seen != g)
                        throw BenchError(what + ": the device read " + std::to_string(seen) +
                                         " after " + std::to_string(g) + " CPU increments");
                    __atomic_fetch_add(counter, 1, __ATOMIC_SEQ_CST);
                }
                t = (now_s() - t0) / exclusive_grabs;
                break;
            }
            case HmmOp::sparse_read:
            case HmmOp::sparse_to_dev: {
                // One page at the start of each 2 MiB of never-touched
                // memory, one call each, as sparse-faults faults once
                // per 2 MiB. Fresh memory reads as zeros.
                const uint64_t n = std::max<uint64_t>(1, size / huge);
                Buffer sparse(n * huge);
                for (uint64_t i = 0; i < n; ++i) {
                    std::byte* at = sparse.data() + i * huge;
                    std::memset(bounce.data(), 0x5a, page);
                    t += op == HmmOp::sparse_read ? mirror.read(at, page, bounce.data())
                                                  : mirror.migrate_to_dev(at, page, bounce.data());
                    check_fill(what, bounce.data(), page, 0);
                }
                t /= static_cast<double>(n);
                break;
            }
            }
            samples.push_back(t);
        }
        return &(anchors_.hmm_[key] = std::move(samples));
    } catch (const BenchError& e) {
        why_not = std::string("failed: ") + e.what();
        anchors_.hmm_failed_[key] = why_not;
        return nullptr;
    }
}

void Bench::attach_hmm(Row& row, HmmOp op)
{
    HmmAnchor a;
    a.op = hmm_op_name(static_cast<int>(op));
    const std::string to_dev = HmmMirror::to_dev_ioctl().empty()
                                   ? std::string("migrate to device")
                                   : HmmMirror::to_dev_ioctl();
    switch (op) {
    case HmmOp::read:
        a.what = "HMM_DMIRROR_READ of fresh CPU-filled memory: mirror faults "
                 "(hmm_range_fault), copy out";
        break;
    case HmmOp::write:
        a.what = "HMM_DMIRROR_WRITE of never-touched memory: mirror write faults allocate "
                 "the pages, copy in";
        break;
    case HmmOp::to_dev:
        a.what = to_dev + " of fresh CPU-filled memory (migrate_vma_*, CPU copies; "
                          "test_hmm then reads the range back)";
        break;
    case HmmOp::to_sys:
        a.what = (HmmMirror::to_sys_ioctl().empty() ? std::string("migrate to system")
                                                     : HmmMirror::to_sys_ioctl()) +
                 " of memory moved to the device by " + to_dev;
        break;
    case HmmOp::fault_back:
        a.what = "CPU read of one dword a page of memory moved to the device by " + to_dev +
                 " (test_hmm migrates one page per CPU fault)";
        break;
    case HmmOp::munmap:
        a.what = "munmap of memory mirrored by HMM_DMIRROR_WRITE (its notifier drops the "
                 "mirror)";
        break;
    case HmmOp::exclusive:
        a.what = "HMM_DMIRROR_EXCLUSIVE of one page (make_device_exclusive_range(), then "
                 "test_hmm reads it back), then a CPU __atomic_fetch_add on it, which takes "
                 "it back: grabs per second";
        break;
    case HmmOp::sparse_read:
        a.what = "HMM_DMIRROR_READ of one page per 2 MiB of never-touched memory "
                 "(hmm_range_fault() faults the zero page in): microseconds per page";
        break;
    case HmmOp::sparse_to_dev:
        a.what = to_dev + " of one page per 2 MiB of never-touched memory (zero-filled "
                          "device pages): microseconds per page";
        break;
    }
    std::string why;
    const std::vector<double>* seconds =
        hmm_seconds(op, op == HmmOp::exclusive ? page : row.size, why);
    if (!seconds) {
        a.reason = why;
        // Unavailable anchors are said once, in the heading; a failure
        // belongs to this row.
        if (why.rfind("failed: ", 0) == 0)
            row.notes.push_back("test_hmm anchor " + why);
    } else {
        std::vector<double> v;
        for (const double t : *seconds)
            v.push_back(row.unit == "us"      ? t * 1e6
                        : row.unit == "ops/s" ? 1.0 / t
                                              : mibps(row.size, t));
        a.available = true;
        a.stats = summarize(v);
        a.ratio = row.higher_is_better ? row.stats.median / a.stats.median
                                       : a.stats.median / row.stats.median;
    }
    row.hmm = std::move(a);
}

std::vector<std::string> Anchors::hmm_json() const
{
    std::vector<std::string> out;
    for (const auto& [key, seconds] : hmm_) {
        std::vector<double> mb, us;
        for (const double t : seconds) {
            mb.push_back(mibps(key.second, t));
            us.push_back(t * 1e6);
        }
        out.push_back(JsonObject()
                          .string("op", hmm_op_name(static_cast<int>(key.first)))
                          .integer("size", key.second)
                          .string("size_text", simgpu::format_bytes(key.second))
                          .stats("mib_s", summarize(mb))
                          .stats("us", summarize(us))
                          .integer("repeat", seconds.size())
                          .str());
    }
    for (const auto& [key, reason] : hmm_failed_)
        out.push_back(JsonObject()
                          .string("op", hmm_op_name(static_cast<int>(key.first)))
                          .integer("size", key.second)
                          .string("error", reason)
                          .str());
    return out;
}

} // namespace simgpu_bench
