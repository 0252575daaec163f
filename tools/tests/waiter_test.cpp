// SPDX-License-Identifier: MIT
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "simgpu/fd.hpp"
#include "simgpu/waiter.hpp"

namespace {

using simgpu::EventFd;
using simgpu::Fd;
using simgpu::Waiter;
using namespace std::chrono_literals;

constexpr int64_t ms_ns = 1'000'000;
constexpr int64_t long_ns = 10'000 * ms_ns; // a wait that must not run out

EventFd make_eventfd()
{
    auto e = EventFd::create();
    EXPECT_TRUE(e.ok()) << e.error().message();
    return std::move(e).value();
}

Waiter make_waiter(unsigned entries = 64)
{
    auto w = Waiter::create(entries);
    EXPECT_TRUE(w.ok()) << w.error().message();
    return std::move(w).value();
}

void signal(const EventFd& e)
{
    ASSERT_EQ(::eventfd_write(e.fd(), 1), 0);
}

struct Pipe {
    Fd read_end;
    Fd write_end;
};

Pipe make_pipe()
{
    int fds[2];
    EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    return {Fd(fds[0]), Fd(fds[1])};
}

double elapsed_ms(std::chrono::steady_clock::time_point start)
{
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
        .count();
}

TEST(EventFd, TakeReadsAndResets)
{
    const EventFd e = make_eventfd();
    EXPECT_EQ(e.take().value(), 0u);
    signal(e);
    signal(e);
    EXPECT_EQ(e.take().value(), 2u);
    EXPECT_EQ(e.take().value(), 0u);
}

TEST(Waiter, NothingPendingReturnsAtOnce)
{
    Waiter w = make_waiter();
    EXPECT_EQ(w.pending(), 0u);
    auto r = w.wait(-1);
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_TRUE(r.value().empty());
}

TEST(Waiter, AlreadySignalledIsReadyAtOnce)
{
    Waiter w = make_waiter();
    const EventFd e = make_eventfd();
    signal(e);
    ASSERT_TRUE(w.add(e.fd(), 7).ok());
    EXPECT_EQ(w.pending(), 1u);
    auto r = w.wait(0);
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_EQ(r.value(), std::vector<uint64_t>{7});
    EXPECT_EQ(w.pending(), 0u);
}

TEST(Waiter, TimesOutWithEtime)
{
    Waiter w = make_waiter();
    const EventFd e = make_eventfd();
    ASSERT_TRUE(w.add(e.fd(), 1).ok());
    const auto start = std::chrono::steady_clock::now();
    auto r = w.wait(50 * ms_ns);
    const double ms = elapsed_ms(start);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().err, ETIME);
    EXPECT_GE(ms, 45.0);
    EXPECT_LT(ms, 5000.0);
    // Still pending, and found once signalled.
    EXPECT_EQ(w.pending(), 1u);
    auto zero = w.wait(0);
    ASSERT_FALSE(zero.ok());
    EXPECT_EQ(zero.error().err, ETIME);
    signal(e);
    auto later = w.wait(long_ns);
    ASSERT_TRUE(later.ok()) << later.error().message();
    EXPECT_EQ(later.value(), std::vector<uint64_t>{1});
}

// Eventfds and pipes signalled from a thread in an order of its own are
// each reported once, with their tags, and the wait sleeps in between.
TEST(Waiter, ManyDescriptorsSignalledFromAThread)
{
    constexpr unsigned n = 100; // more than the ring's entries
    Waiter w = make_waiter(16);
    std::vector<EventFd> events;
    std::vector<Pipe> pipes;
    for (unsigned i = 0; i < n; ++i) {
        events.push_back(make_eventfd());
        pipes.push_back(make_pipe());
        ASSERT_TRUE(w.add(events.back().fd(), i).ok());
        ASSERT_TRUE(w.add(pipes.back().read_end.get(), n + i).ok());
    }
    EXPECT_EQ(w.pending(), 2 * n);

    std::thread signaller([&] {
        for (unsigned i = n; i-- > 0;) {
            if (i % 10 == 0)
                std::this_thread::sleep_for(2ms);
            ASSERT_EQ(::eventfd_write(events[i].fd(), 1), 0);
            const char c = 'x';
            ASSERT_EQ(::write(pipes[i].write_end.get(), &c, 1), 1);
        }
    });
    std::vector<uint64_t> seen;
    while (w.pending() > 0) {
        auto r = w.wait(long_ns);
        ASSERT_TRUE(r.ok()) << r.error().message();
        ASSERT_FALSE(r.value().empty());
        seen.insert(seen.end(), r.value().begin(), r.value().end());
    }
    signaller.join();
    std::sort(seen.begin(), seen.end());
    ASSERT_EQ(seen.size(), 2 * n);
    for (uint64_t i = 0; i < 2 * n; ++i)
        EXPECT_EQ(seen[i], i);
}

TEST(Waiter, WaitsForTheSignalOfAnotherThread)
{
    Waiter w = make_waiter();
    const EventFd a = make_eventfd();
    const EventFd b = make_eventfd();
    ASSERT_TRUE(w.add(a.fd(), 10).ok());
    ASSERT_TRUE(w.add(b.fd(), 20).ok());
    const auto start = std::chrono::steady_clock::now();
    std::thread t([&] {
        std::this_thread::sleep_for(50ms);
        signal(b);
    });
    auto r = w.wait(long_ns);
    t.join();
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_GE(elapsed_ms(start), 45.0);
    EXPECT_EQ(r.value(), std::vector<uint64_t>{20});
    EXPECT_EQ(w.pending(), 1u);
}

TEST(Waiter, AddOfABadDescriptorFailsWithEbadf)
{
    Waiter w = make_waiter();
    int closed;
    {
        const EventFd e = make_eventfd();
        closed = e.fd();
    }
    for (const int fd : {-1, closed}) {
        auto r = w.add(fd, 1);
        ASSERT_FALSE(r.ok());
        EXPECT_EQ(r.error().err, EBADF);
        EXPECT_NE(r.error().message().find("descriptor"), std::string::npos);
    }
    EXPECT_EQ(w.pending(), 0u);
}

// A descriptor closed between add() and wait() fails its poll: the error
// is reported once, on its own, and the other poll is still reported.
TEST(Waiter, PollOfAClosedDescriptorIsAnError)
{
    Waiter w = make_waiter();
    const EventFd ready = make_eventfd();
    signal(ready);
    ASSERT_TRUE(w.add(ready.fd(), 2).ok());
    {
        const EventFd doomed = make_eventfd();
        ASSERT_TRUE(w.add(doomed.fd(), 3).ok());
    }
    bool got_ready = false;
    bool got_error = false;
    for (int i = 0; i < 2; ++i) {
        auto r = w.wait(long_ns);
        if (r.ok()) {
            EXPECT_EQ(r.value(), std::vector<uint64_t>{2});
            got_ready = true;
        } else {
            EXPECT_EQ(r.error().err, EBADF);
            EXPECT_NE(r.error().what.find("tagged 3"), std::string::npos) << r.error().what;
            got_error = true;
        }
    }
    EXPECT_TRUE(got_ready);
    EXPECT_TRUE(got_error);
    EXPECT_EQ(w.pending(), 0u);
}

TEST(Waiter, MoveKeepsThePolls)
{
    Waiter a = make_waiter();
    const EventFd e = make_eventfd();
    ASSERT_TRUE(a.add(e.fd(), 5).ok());
    Waiter b(std::move(a));
    EXPECT_EQ(a.pending(), 0u); // NOLINT(bugprone-use-after-move): moved-from state is specified
    EXPECT_EQ(b.pending(), 1u);
    signal(e);
    auto r = b.wait(long_ns);
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_EQ(r.value(), std::vector<uint64_t>{5});
}

} // namespace
