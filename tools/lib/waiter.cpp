// SPDX-License-Identifier: MIT
#include "simgpu/waiter.hpp"

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <string>
#include <utility>

#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

namespace simgpu {
namespace {

int64_t monotonic_now_ns()
{
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

} // namespace

Result<EventFd> EventFd::create()
{
    const int fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (fd < 0)
        return Error::from_errno("eventfd");
    return EventFd(Fd(fd));
}

Result<uint64_t> EventFd::take() const
{
    uint64_t count = 0;
    for (;;) {
        if (::read(fd_.get(), &count, sizeof(count)) == sizeof(count))
            return count;
        if (errno == EAGAIN)
            return uint64_t{0};
        if (errno != EINTR)
            return Error::from_errno("read of eventfd " + std::to_string(fd_.get()));
    }
}

// The io_uring; io_uring_queue_exit() once initialised.
struct Waiter::Ring {
    io_uring ring{};
    bool live = false;

    Ring() = default;
    Ring(const Ring&) = delete;
    Ring& operator=(const Ring&) = delete;
    ~Ring()
    {
        if (live)
            ::io_uring_queue_exit(&ring);
    }
};

Result<Waiter> Waiter::create(unsigned entries)
{
    auto ring = std::make_unique<Ring>();
    if (const int ret = ::io_uring_queue_init(entries, &ring->ring, 0); ret < 0)
        return Error{-ret, "io_uring_queue_init with " + std::to_string(entries) + " entries"};
    ring->live = true;
    return Waiter(std::move(ring));
}

Waiter::Waiter(std::unique_ptr<Ring> ring) noexcept : ring_(std::move(ring)) {}

Waiter::Waiter(Waiter&& other) noexcept
    : ring_(std::move(other.ring_)), pending_(std::exchange(other.pending_, 0))
{
}

Waiter& Waiter::operator=(Waiter&& other) noexcept
{
    if (this != &other) {
        ring_ = std::move(other.ring_);
        pending_ = std::exchange(other.pending_, 0);
    }
    return *this;
}

Waiter::~Waiter() = default;

Result<void> Waiter::add(int fd, uint64_t tag)
{
    const std::string what = "poll of descriptor " + std::to_string(fd);
    if (::fcntl(fd, F_GETFD) == -1)
        return Error::from_errno(what);
    io_uring_sqe* sqe = ::io_uring_get_sqe(&ring_->ring);
    if (!sqe) {
        // The submission queue is full: hand its polls to the kernel.
        if (const int ret = ::io_uring_submit(&ring_->ring); ret < 0)
            return Error{-ret, what + ": io_uring_submit"};
        sqe = ::io_uring_get_sqe(&ring_->ring);
        if (!sqe)
            return Error{EBUSY, what + ": no free submission entry"};
    }
    ::io_uring_prep_poll_add(sqe, fd, POLLIN);
    ::io_uring_sqe_set_data64(sqe, tag);
    ++pending_;
    return {};
}

Result<std::vector<uint64_t>> Waiter::wait(int64_t timeout_ns)
{
    std::vector<uint64_t> ready;
    if (pending_ == 0)
        return ready;

    // Reaps every completion there is; stops before a failed poll when
    // tags were reaped already, so that the error is reported on its own.
    const auto reap = [&]() -> Result<void> {
        io_uring_cqe* cqe = nullptr;
        while (::io_uring_peek_cqe(&ring_->ring, &cqe) == 0) {
            const uint64_t tag = ::io_uring_cqe_get_data64(cqe);
            const int res = cqe->res;
            if (res < 0 && !ready.empty())
                break;
            ::io_uring_cqe_seen(&ring_->ring, cqe);
            --pending_;
            if (res < 0)
                return Error{-res, "poll of the descriptor tagged " + std::to_string(tag)};
            ready.push_back(tag);
        }
        return {};
    };

    const int64_t deadline = timeout_ns < 0 ? -1 : monotonic_now_ns() + timeout_ns;
    for (;;) {
        if (auto r = reap(); !r.ok())
            return r.error();
        if (!ready.empty())
            return ready;

        __kernel_timespec ts{};
        __kernel_timespec* limit = nullptr;
        if (deadline >= 0) {
            const int64_t left = std::max<int64_t>(0, deadline - monotonic_now_ns());
            ts.tv_sec = left / 1'000'000'000;
            ts.tv_nsec = left % 1'000'000'000;
            limit = &ts;
        }
        io_uring_cqe* cqe = nullptr;
        const int ret = ::io_uring_submit_and_wait_timeout(&ring_->ring, &cqe, 1, limit, nullptr);
        if (ret == -ETIME) {
            if (auto r = reap(); !r.ok())
                return r.error();
            if (!ready.empty())
                return ready;
            return Error{ETIME, "waiting for " + std::to_string(pending_) + " descriptor" +
                                    (pending_ == 1 ? "" : "s")};
        }
        if (ret < 0 && ret != -EINTR)
            return Error{-ret, "io_uring_submit_and_wait_timeout"};
    }
}

} // namespace simgpu
