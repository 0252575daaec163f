// SPDX-License-Identifier: MIT
#include "kernels.hpp"

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstring>
#include <functional>
#include <numeric>
#include <optional>
#include <random>
#include <utility>
#include <vector>

namespace simgpu_run {
namespace {

// What outputs hold before the GPU writes them, so that a kernel that
// writes nothing cannot match.
constexpr uint32_t poison = 0xdeadbeef;
constexpr uint64_t poison64 = 0xdeadbeefdeadbeef;
constexpr uint32_t histogram_bins = 256;

std::string format(const char* fmt, auto... args)
{
    char buf[160];
    std::snprintf(buf, sizeof(buf), fmt, args...);
    return buf;
}

// Fixed seeds: every run sees the same data.
std::vector<uint32_t> random_u32(std::mt19937& rng, uint64_t count)
{
    std::vector<uint32_t> v(count);
    std::generate(v.begin(), v.end(), std::ref(rng));
    return v;
}

Region input(Context& ctx, const std::vector<uint32_t>& data)
{
    const Region r = ctx.alloc(data.size() * sizeof(uint32_t)).value();
    std::memcpy(r.cpu, data.data(), data.size() * sizeof(uint32_t));
    return r;
}

Region output(Context& ctx, uint64_t count, uint32_t fill = poison)
{
    const Region r = ctx.alloc(count * sizeof(uint32_t)).value();
    std::fill_n(r.as<uint32_t>(), count, fill);
    return r;
}

Region output64(Context& ctx)
{
    const Region r = ctx.alloc(sizeof(uint64_t)).value();
    *r.as<uint64_t>() = poison64;
    return r;
}

Outcome compare(const uint32_t* got, const std::vector<uint32_t>& want, const char* unit)
{
    uint64_t matches = 0;
    std::optional<size_t> first;
    for (size_t i = 0; i < want.size(); ++i) {
        if (got[i] == want[i])
            ++matches;
        else if (!first)
            first = i;
    }
    Outcome o;
    o.match = !first;
    o.check = format("%llu/%zu %s match", static_cast<unsigned long long>(matches), want.size(),
                     unit);
    if (first)
        o.detail = format("first difference at [%zu]: gpu 0x%08x, cpu 0x%08x", *first,
                          got[*first], want[*first]);
    return o;
}

Outcome compare_sum(uint64_t got, uint64_t want)
{
    Outcome o;
    o.match = got == want;
    o.check = format("sum %llu %s cpu %llu", static_cast<unsigned long long>(got),
                     o.match ? "==" : "!=", static_cast<unsigned long long>(want));
    return o;
}

PreparedRun prepare_memset(Context& ctx, uint64_t n)
{
    constexpr uint32_t value = 0x5eed1234;
    const Region dst = output(ctx, n);
    return {launch(ctx, DRM_SIMGPU_KERNEL_MEMSET,
                   drm_simgpu_kargs_memset{.dst = dst.gpu, .count = n, .value = value, .pad = 0}),
            [dst, n, value] {
                return compare(dst.as<uint32_t>(), std::vector<uint32_t>(n, value), "elements");
            }};
}

PreparedRun prepare_copy(Context& ctx, uint64_t n, std::mt19937& rng)
{
    auto src = random_u32(rng, n);
    const Region s = input(ctx, src);
    const Region dst = output(ctx, n);
    return {launch(ctx, DRM_SIMGPU_KERNEL_COPY,
                   drm_simgpu_kargs_copy{.dst = dst.gpu, .src = s.gpu, .count = n}),
            [dst, src = std::move(src)] { return compare(dst.as<uint32_t>(), src, "elements"); }};
}

PreparedRun prepare_add(Context& ctx, uint64_t n, std::mt19937& rng)
{
    const auto a = random_u32(rng, n);
    const auto b = random_u32(rng, n);
    std::vector<uint32_t> want(n);
    std::transform(a.begin(), a.end(), b.begin(), want.begin(), std::plus<uint32_t>());

    const Region ra = input(ctx, a);
    const Region rb = input(ctx, b);
    const Region c = output(ctx, n);
    return {launch(ctx, DRM_SIMGPU_KERNEL_ADD,
                   drm_simgpu_kargs_add{.a = ra.gpu, .b = rb.gpu, .c = c.gpu, .count = n}),
            [c, want = std::move(want)] { return compare(c.as<uint32_t>(), want, "elements"); }};
}

// Compared bit for bit: the GPU computes a * x + y in binary32 with one
// rounding per operation, as does this CPU code (ISO C++ does not contract
// it into a fused multiply-add).
PreparedRun prepare_saxpy(Context& ctx, uint64_t n, std::mt19937& rng)
{
    constexpr float a = 2.5f;
    std::uniform_real_distribution<float> dist(-1000.0f, 1000.0f);
    std::vector<uint32_t> x(n), y(n), want(n);
    for (uint64_t i = 0; i < n; ++i) {
        const float fx = dist(rng);
        const float fy = dist(rng);
        x[i] = std::bit_cast<uint32_t>(fx);
        y[i] = std::bit_cast<uint32_t>(fy);
        want[i] = std::bit_cast<uint32_t>(a * fx + fy);
    }

    const Region rx = input(ctx, x);
    const Region ry = input(ctx, y);
    return {launch(ctx, DRM_SIMGPU_KERNEL_SAXPY,
                   drm_simgpu_kargs_saxpy{.x = rx.gpu,
                                          .y = ry.gpu,
                                          .count = n,
                                          .a = std::bit_cast<uint32_t>(a),
                                          .pad = 0}),
            [ry, want = std::move(want)] { return compare(ry.as<uint32_t>(), want, "elements"); }};
}

PreparedRun prepare_reduce(Context& ctx, uint64_t n, std::mt19937& rng)
{
    const auto src = random_u32(rng, n);
    const uint64_t want = std::accumulate(src.begin(), src.end(), uint64_t{0});

    const Region s = input(ctx, src);
    const Region dst = output64(ctx);
    return {launch(ctx, DRM_SIMGPU_KERNEL_REDUCE_SUM,
                   drm_simgpu_kargs_reduce{.src = s.gpu, .dst = dst.gpu, .count = n}),
            [dst, want] { return compare_sum(*dst.as<uint64_t>(), want); }};
}

PreparedRun prepare_gather(Context& ctx, uint64_t n, std::mt19937& rng)
{
    const auto src = random_u32(rng, n);
    std::vector<uint32_t> idx(n), want(n);
    for (uint64_t i = 0; i < n; ++i) {
        idx[i] = static_cast<uint32_t>(rng() % n);
        want[i] = src[idx[i]];
    }

    const Region s = input(ctx, src);
    const Region ri = input(ctx, idx);
    const Region dst = output(ctx, n);
    return {launch(ctx, DRM_SIMGPU_KERNEL_GATHER,
                   drm_simgpu_kargs_gather{.dst = dst.gpu, .src = s.gpu, .idx = ri.gpu, .count = n}),
            [dst, want = std::move(want)] {
                return compare(dst.as<uint32_t>(), want, "elements");
            }};
}

PreparedRun prepare_histogram(Context& ctx, uint64_t n, std::mt19937& rng)
{
    const auto src = random_u32(rng, n);
    std::vector<uint32_t> want(histogram_bins);
    for (const uint32_t v : src)
        ++want[v % histogram_bins];

    const Region s = input(ctx, src);
    const Region bins = output(ctx, histogram_bins, 0);
    return {launch(ctx, DRM_SIMGPU_KERNEL_HISTOGRAM,
                   drm_simgpu_kargs_histogram{.src = s.gpu,
                                              .bins = bins.gpu,
                                              .count = n,
                                              .num_bins = histogram_bins,
                                              .pad = 0}),
            [bins, want = std::move(want)] {
                return compare(bins.as<uint32_t>(), want, "bins");
            }};
}

// Nodes of 16 to 504 bytes (a list node and some payload), allocated one
// by one and linked in shuffled order, so the walk jumps around memory.
PreparedRun prepare_list_sum(Context& ctx, uint64_t n, std::mt19937& rng)
{
    std::vector<size_t> sizes(n);
    for (auto& size : sizes)
        size = sizeof(drm_simgpu_list_node) + 8 * (rng() % 62);
    const std::vector<Region> nodes = ctx.alloc_nodes(sizes).value();

    std::vector<size_t> order(n);
    std::iota(order.begin(), order.end(), size_t{0});
    std::shuffle(order.begin(), order.end(), rng);

    uint64_t want = 0;
    for (size_t k = 0; k < n; ++k) {
        const uint64_t value = rng() % 12288;
        auto* node = nodes[order[k]].as<drm_simgpu_list_node>();
        node->next = k + 1 < n ? nodes[order[k + 1]].gpu : 0;
        node->value = value;
        want += value;
    }

    const Region sum = output64(ctx);
    const Region walked = output64(ctx);
    return {launch(ctx, DRM_SIMGPU_KERNEL_LIST_SUM,
                   drm_simgpu_kargs_list_sum{.head = nodes[order[0]].gpu,
                                             .dst = sum.gpu,
                                             .count_out = walked.gpu,
                                             .max_nodes = n}),
            [sum, walked, want, n] {
                Outcome o = compare_sum(*sum.as<uint64_t>(), want);
                if (*walked.as<uint64_t>() != n) {
                    o.match = false;
                    o.detail = format("walked %llu nodes of %llu",
                                      static_cast<unsigned long long>(*walked.as<uint64_t>()),
                                      static_cast<unsigned long long>(n));
                }
                return o;
            }};
}

} // namespace

PreparedRun prepare_kernel(Context& ctx, const KernelInfo& kernel, uint64_t count)
{
    std::mt19937 rng(0x51d6a000 + kernel.id);
    switch (kernel.id) {
    case DRM_SIMGPU_KERNEL_MEMSET:
        return prepare_memset(ctx, count);
    case DRM_SIMGPU_KERNEL_COPY:
        return prepare_copy(ctx, count, rng);
    case DRM_SIMGPU_KERNEL_ADD:
        return prepare_add(ctx, count, rng);
    case DRM_SIMGPU_KERNEL_SAXPY:
        return prepare_saxpy(ctx, count, rng);
    case DRM_SIMGPU_KERNEL_REDUCE_SUM:
        return prepare_reduce(ctx, count, rng);
    case DRM_SIMGPU_KERNEL_GATHER:
        return prepare_gather(ctx, count, rng);
    case DRM_SIMGPU_KERNEL_HISTOGRAM:
        return prepare_histogram(ctx, count, rng);
    default:
        return prepare_list_sum(ctx, count, rng);
    }
}

} // namespace simgpu_run
