// SPDX-License-Identifier: MIT
#include <cerrno>
#include <utility>

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "simgpu/fd.hpp"

namespace {

using simgpu::Fd;

int open_null()
{
    const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    EXPECT_GE(fd, 0);
    return fd;
}

bool is_open(int fd)
{
    return ::fcntl(fd, F_GETFD) != -1;
}

bool is_closed(int fd)
{
    errno = 0;
    return ::fcntl(fd, F_GETFD) == -1 && errno == EBADF;
}

TEST(Fd, DefaultIsInvalid)
{
    Fd fd;
    EXPECT_FALSE(fd.valid());
    EXPECT_FALSE(static_cast<bool>(fd));
    EXPECT_EQ(fd.get(), -1);
}

TEST(Fd, ClosesOnDestruction)
{
    const int raw = open_null();
    {
        Fd fd(raw);
        EXPECT_TRUE(fd.valid());
        EXPECT_TRUE(is_open(raw));
    }
    EXPECT_TRUE(is_closed(raw));
}

TEST(Fd, MoveConstructTransfersOwnership)
{
    const int raw = open_null();
    Fd a(raw);
    Fd b(std::move(a));
    EXPECT_FALSE(a.valid()); // NOLINT(bugprone-use-after-move): moved-from state is specified
    EXPECT_EQ(b.get(), raw);
    EXPECT_TRUE(is_open(raw));
}

TEST(Fd, MoveAssignClosesPreviousDescriptor)
{
    const int first = open_null();
    const int second = open_null();
    Fd a(first);
    Fd b(second);
    a = std::move(b);
    EXPECT_TRUE(is_closed(first));
    EXPECT_TRUE(is_open(second));
    EXPECT_EQ(a.get(), second);
    EXPECT_FALSE(b.valid()); // NOLINT(bugprone-use-after-move)
}

TEST(Fd, ReleaseDoesNotClose)
{
    const int raw = open_null();
    {
        Fd fd(raw);
        EXPECT_EQ(fd.release(), raw);
        EXPECT_FALSE(fd.valid());
    }
    EXPECT_TRUE(is_open(raw));
    ::close(raw);
}

TEST(Fd, ResetClosesAndAdopts)
{
    const int first = open_null();
    const int second = open_null();
    Fd fd(first);
    fd.reset(second);
    EXPECT_TRUE(is_closed(first));
    EXPECT_EQ(fd.get(), second);
    fd.reset();
    EXPECT_TRUE(is_closed(second));
    EXPECT_FALSE(fd.valid());
}

} // namespace
