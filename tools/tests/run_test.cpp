// SPDX-License-Identifier: MIT
//
// simgpu-run's run_all() with contexts that need no device: each job is an
// eventfd that a thread of the test signals, or a failure it reports.
#include <atomic>
#include <cerrno>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include <sys/eventfd.h>

#include <gtest/gtest.h>

#include "context.hpp"
#include "simgpu/waiter.hpp"

namespace {

using simgpu::Error;
using simgpu::Result;
using simgpu_run::Context;
using simgpu_run::Region;
using namespace std::chrono_literals;

// How a fake job ends.
enum class Ending {
    running,
    success,  // done() says true; the test also signals the eventfd
    failure,  // done() says EFAULT, nothing signalled (a failed svm job)
};

class FakeContext final : public Context {
public:
    explicit FakeContext(bool submit_fails = false)
        : done_(simgpu::EventFd::create().value()), submit_fails_(submit_fails)
    {
    }

    Result<Region> alloc(size_t) override { return Error{ENOSYS, "alloc"}; }
    Result<std::vector<Region>> alloc_nodes(std::span<const size_t>) override
    {
        return Error{ENOSYS, "alloc_nodes"};
    }

    Result<void> submit(const simgpu::BatchBuilder& batch) override
    {
        if (submit_fails_)
            return Error{ENOMEM, "fake submit"};
        submitted_dwords = batch.dwords().size();
        return {};
    }

    int done_fd() const override { return done_.fd(); }

    const simgpu::Vm& vm() const override { return vm_; }

    Result<bool> done() override
    {
        switch (ending.load()) {
        case Ending::success:
            return true;
        case Ending::failure:
            return Error{EFAULT, "fake job failed"};
        default:
            return false;
        }
    }

    // Ends the job with @how; a success signals the eventfd too.
    void end(Ending how)
    {
        ending = how;
        if (how == Ending::success) {
            ASSERT_EQ(::eventfd_write(done_.fd(), 1), 0);
        }
    }

    std::atomic<Ending> ending{Ending::running};
    size_t submitted_dwords = 0;

private:
    simgpu::EventFd done_;
    simgpu::Vm vm_; // owns nothing
    bool submit_fails_;
};

std::vector<simgpu::BatchBuilder> batches(size_t n)
{
    std::vector<simgpu::BatchBuilder> b(n);
    for (auto& x : b)
        x.nop().batch_end();
    return b;
}

TEST(RunAll, WaitsForEveryJobAndTimesEach)
{
    FakeContext fast, slow;
    Context* contexts[] = {&fast, &slow};
    std::thread jobs([&] {
        std::this_thread::sleep_for(20ms);
        fast.end(Ending::success);
        std::this_thread::sleep_for(60ms);
        slow.end(Ending::success);
    });
    const auto results = simgpu_run::run_all(contexts, batches(2));
    jobs.join();
    ASSERT_EQ(results.size(), 2u);
    ASSERT_TRUE(results[0].ok()) << results[0].error().message();
    ASSERT_TRUE(results[1].ok()) << results[1].error().message();
    EXPECT_GE(results[0].value(), 15.0);
    EXPECT_GE(results[1].value(), 75.0);
    EXPECT_LT(results[0].value(), results[1].value());
    EXPECT_EQ(fast.submitted_dwords, 2u);
    EXPECT_EQ(slow.submitted_dwords, 2u);
}

// A failure signals nothing: it is found between wait slices, while the
// other jobs are still waited for.
TEST(RunAll, FindsAFailedJobThatSignalsNothing)
{
    FakeContext failing, ok;
    Context* contexts[] = {&failing, &ok};
    std::thread jobs([&] {
        std::this_thread::sleep_for(10ms);
        failing.end(Ending::failure);
        std::this_thread::sleep_for(250ms);
        ok.end(Ending::success);
    });
    const auto results = simgpu_run::run_all(contexts, batches(2));
    jobs.join();
    ASSERT_FALSE(results[0].ok());
    EXPECT_EQ(results[0].error().err, EFAULT);
    ASSERT_TRUE(results[1].ok()) << results[1].error().message();
    EXPECT_GE(results[1].value(), 250.0);
}

TEST(RunAll, AFailedSubmissionIsThatJobsError)
{
    FakeContext broken(true), ok;
    ok.end(Ending::success);
    Context* contexts[] = {&broken, &ok};
    const auto results = simgpu_run::run_all(contexts, batches(2));
    ASSERT_FALSE(results[0].ok());
    EXPECT_EQ(results[0].error().err, ENOMEM);
    EXPECT_TRUE(results[1].ok());
}

TEST(RunAll, ReadableButNotDoneIsEproto)
{
    FakeContext liar;
    ASSERT_EQ(::eventfd_write(liar.done_fd(), 1), 0);
    Context* contexts[] = {&liar};
    const auto results = simgpu_run::run_all(contexts, batches(1));
    ASSERT_FALSE(results[0].ok());
    EXPECT_EQ(results[0].error().err, EPROTO);
}

TEST(RunAll, CountMismatchIsEinval)
{
    FakeContext a;
    Context* contexts[] = {&a};
    const auto results = simgpu_run::run_all(contexts, batches(2));
    ASSERT_EQ(results.size(), 1u);
    ASSERT_FALSE(results[0].ok());
    EXPECT_EQ(results[0].error().err, EINVAL);
}

TEST(RunAll, NothingToRun)
{
    EXPECT_TRUE(simgpu_run::run_all({}, {}).empty());
}

} // namespace
