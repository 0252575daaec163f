// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "simgpu/fd.hpp"
#include "simgpu/result.hpp"

namespace simgpu {

// An eventfd (non-blocking, close-on-exec), closed on destruction. What a
// user fence with DRM_SIMGPU_SYNC_FLAG_EVENTFD signals: readable once the
// fence value was written. Move-only.
class EventFd {
public:
    static Result<EventFd> create();

    int fd() const noexcept { return fd_.get(); }

    // Reads and resets the counter: 0 when it was not signalled since the
    // last take().
    Result<uint64_t> take() const;

private:
    explicit EventFd(Fd fd) noexcept : fd_(std::move(fd)) {}
    Fd fd_;
};

// Waits for many file descriptors at once with io_uring (one
// IORING_OP_POLL_ADD each, for POLLIN) instead of one thread or one
// blocking call per descriptor: sync_file descriptors of syncobj fences
// (Syncobj::export_sync_file(), readable once the fence signalled,
// successfully or not) and eventfds of user fences (readable once the
// value was written, so never for a failed job: pair the wait with a
// timeout and a look at the queue state). Move-only (a moved-from Waiter
// may only be assigned to or destroyed); the ring is closed, and polls not
// yet reported cancelled, on destruction.
class Waiter {
public:
    // A ring with room for @entries polls per submission; more may be
    // added, they are submitted in several batches.
    static Result<Waiter> create(unsigned entries = 64);

    Waiter(Waiter&& other) noexcept;
    Waiter& operator=(Waiter&& other) noexcept;
    Waiter(const Waiter&) = delete;
    Waiter& operator=(const Waiter&) = delete;
    ~Waiter();

    // Waits for @fd to become readable, reported by wait() as @tag. The
    // Waiter does not own @fd, which must stay open until it is reported
    // (or the Waiter is gone). EBADF when @fd is not an open descriptor.
    Result<void> add(int fd, uint64_t tag);

    // Descriptors added and not yet reported.
    size_t pending() const noexcept { return pending_; }

    // Waits up to @timeout_ns (negative: no limit) until at least one
    // pending descriptor is readable; returns the tags of every one that
    // is by then, each reported once. An empty vector when nothing is
    // pending. ETIME when none became readable in time. A poll that failed
    // (say, the descriptor was closed before the poll was submitted) is an
    // Error with its errno naming the tag, reported on its own: tags that
    // were ready before it are returned first, and it counts as reported.
    Result<std::vector<uint64_t>> wait(int64_t timeout_ns);

private:
    struct Ring;
    explicit Waiter(std::unique_ptr<Ring> ring) noexcept;

    std::unique_ptr<Ring> ring_;
    size_t pending_ = 0;
};

} // namespace simgpu
