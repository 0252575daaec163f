// SPDX-License-Identifier: MIT
#include "workloads.hpp"

#include <algorithm>
#include <barrier>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <malloc.h>
#include <thread>

#include "simgpu/format.hpp"

namespace simgpu_bench {
namespace {

constexpr uint64_t huge = 2 * MiB;
constexpr uint32_t fill_pattern = 0x5eed1234;

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

} // namespace

Bench::Bench(const Options& opt, std::vector<simgpu::Device>& devices)
    : opt_(opt), devices_(devices)
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
    if (auto it = cold_.find(size); it != cold_.end())
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
    return cold_[size] = summarize(samples);
}

const Stats& Bench::memcpy_warm(uint64_t size)
{
    if (auto it = warm_.find(size); it != warm_.end())
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
    return warm_[size] = summarize(samples);
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

std::vector<Row> Bench::run(const std::string& name, uint64_t size, std::string& skip_reason)
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
    throw BenchError("unknown workload " + name);
}

// The CPU fills a fresh buffer; one GPU COPY from it into a buffer the GPU
// already maps: the time is the source's GPU faults (on present pages) plus
// the copy.
std::vector<Row> Bench::first_touch_populated(uint64_t size)
{
    const std::string what = where("first-touch-populated", size);
    const CounterReader& cr = counters();
    CounterSum sum;
    std::vector<double> samples;
    for (unsigned r = 0; r < opt_.repeat; ++r) {
        Buffer dst(size);
        simgpu::BatchBuilder pre;
        pre.fill(dst.gpu(), size, 0).batch_end();
        queue_->run(pre);
        Buffer src(size);
        cpu_fill(src.data(), size, r + 7);

        simgpu::BatchBuilder b;
        b.copy(dst.gpu(), src.gpu(), size).batch_end();
        const double t = cr.measured(sum, [&] { return queue_->run(b); });
        check_copy(what, dst.data(), src.data(), size);
        samples.push_back(mibps(size, t));
        sample_done(what);
    }
    Row row = mibps_row("first-touch-populated", size, samples, true, size);
    row.counters = sum.total;
    return {row};
}

// One GPU FILL of a never-touched buffer: the GPU faults allocate the pages.
std::vector<Row> Bench::first_touch_untouched(uint64_t size)
{
    const std::string what = where("first-touch-untouched", size);
    const CounterReader& cr = counters();
    CounterSum sum;
    std::vector<double> samples;
    for (unsigned r = 0; r < opt_.repeat; ++r) {
        Buffer buf(size);
        simgpu::BatchBuilder b;
        b.fill(buf.gpu(), size, fill_pattern + r).batch_end();
        const double t = cr.measured(sum, [&] { return queue_->run(b); });
        check_fill(what, buf.data(), size, fill_pattern + r);
        samples.push_back(mibps(size, t));
        sample_done(what);
    }
    Row row = mibps_row("first-touch-untouched", size, samples, true, size);
    row.counters = sum.total;
    return {row};
}

// N x 2 MiB of fresh memory, one STORE_DW per 2 MiB: N GPU faults, each
// mapping a 2 MiB range.
std::vector<Row> Bench::sparse_faults(uint64_t size)
{
    const std::string what = where("sparse-faults", size);
    const uint64_t n = std::max<uint64_t>(1, size / huge);
    const CounterReader& cr = counters();
    CounterSum sum;
    std::vector<double> samples;
    for (unsigned r = 0; r < opt_.repeat; ++r) {
        Buffer buf(n * huge);
        simgpu::BatchBuilder b;
        for (uint64_t i = 0; i < n; ++i)
            b.store_dw(buf.gpu() + i * huge, static_cast<uint32_t>(i + 1));
        b.batch_end();
        const double t = cr.measured(sum, [&] { return queue_->run(b); });
        for (uint64_t i = 0; i < n; ++i) {
            if (*reinterpret_cast<const uint32_t*>(buf.data() + i * huge) != i + 1)
                throw BenchError(what + ": wrong result, STORE_DW " + std::to_string(i) +
                                 " did not land");
        }
        samples.push_back(t * 1e6 / static_cast<double>(n));
        sample_done(what);
    }
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

    Row base = call;
    base.workload = "(munmap, no GPU map)";
    base.stats = cpu;
    base.ratio = base.anchor / base.stats.median;
    base.counters.reset();
    return {mb, call, base};
}

// T threads, each with its own exec queue on the one VM, each FILLs its own
// never-touched buffer at the same moment: aggregate MiB/s over the span
// from the first start to the last end.
std::vector<Row> Bench::multi_thread_faults(uint64_t size)
{
    const std::string what = where("multi-thread-faults", size);
    const unsigned nt = opt_.threads;
    std::vector<std::unique_ptr<Queue>> queues;
    for (unsigned t = 0; t < nt; ++t)
        queues.push_back(
            std::make_unique<Queue>(*gpu_, static_cast<uint16_t>(t % gpu_->compute_engines)));

    const CounterReader& cr = counters();
    CounterSum sum;
    std::vector<double> samples;
    for (unsigned r = 0; r < opt_.repeat; ++r) {
        std::vector<Buffer> bufs;
        bufs.reserve(nt);
        for (unsigned t = 0; t < nt; ++t)
            bufs.emplace_back(size);
        std::vector<double> start(nt), end(nt);
        std::vector<std::exception_ptr> errors(nt);
        std::barrier sync(static_cast<std::ptrdiff_t>(nt + 1));
        const auto before = cr.snapshot();
        {
            std::vector<std::jthread> threads;
            for (unsigned t = 0; t < nt; ++t) {
                threads.emplace_back([&, t] {
                    simgpu::BatchBuilder b;
                    b.fill(bufs[t].gpu(), size, fill_pattern + t).batch_end();
                    sync.arrive_and_wait();
                    try {
                        start[t] = now_s();
                        queues[t]->run(b);
                        end[t] = now_s();
                    } catch (...) {
                        errors[t] = std::current_exception();
                    }
                });
            }
            sync.arrive_and_wait();
        }
        sum.add(CounterReader::delta(before, cr.snapshot()));
        for (unsigned t = 0; t < nt; ++t) {
            if (errors[t])
                std::rethrow_exception(errors[t]);
            check_fill(what + " thread " + std::to_string(t), bufs[t].data(), size,
                       fill_pattern + t);
        }
        const double span = *std::max_element(end.begin(), end.end()) -
                            *std::min_element(start.begin(), start.end());
        samples.push_back(mibps(size * nt, span));
        sample_done(what);
    }
    Row row = mibps_row("multi-thread-faults", size, samples, true, size);
    row.counters = sum.total;
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
        for (int d = 0; d < 2; ++d) {
            simgpu::BatchBuilder pre;
            pre.fill(dsts[d]->gpu(), size, 0).batch_end();
            queues[d]->run(pre);
        }
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

} // namespace simgpu_bench
