// SPDX-License-Identifier: MIT
#include <cerrno>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

#include "simgpu/result.hpp"

namespace {

using simgpu::Error;
using simgpu::Exception;
using simgpu::Result;

TEST(Result, HoldsValue)
{
    Result<int> r = 42;
    EXPECT_TRUE(r.ok());
    EXPECT_TRUE(static_cast<bool>(r));
    EXPECT_EQ(r.value(), 42);
    EXPECT_THROW((void)r.error(), std::logic_error);
}

TEST(Result, MovesValueOut)
{
    Result<std::string> r = std::string("payload");
    std::string s = std::move(r).value();
    EXPECT_EQ(s, "payload");
}

TEST(Result, HoldsError)
{
    Result<int> r = Error{EINVAL, "frobnicate"};
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.error().err, EINVAL);
    EXPECT_EQ(r.error().what, "frobnicate");
    EXPECT_EQ(r.error().message(), "frobnicate: Invalid argument");
}

TEST(Result, ValueThrowsExceptionCarryingErrno)
{
    const Result<int> r = Error{ENODEV, "open /dev/dri/renderD128"};
    try {
        (void)r.value();
        FAIL() << "value() did not throw";
    } catch (const Exception& e) {
        EXPECT_EQ(e.err(), ENODEV);
        EXPECT_EQ(e.code(), std::error_code(ENODEV, std::generic_category()));
        EXPECT_EQ(std::string(e.what()), "open /dev/dri/renderD128: No such device");
    }
}

TEST(Result, ExceptionIsASystemError)
{
    Result<int> r = Error{EFAULT, "copy"};
    EXPECT_THROW((void)r.value(), std::system_error);
}

TEST(Result, Void)
{
    Result<void> good;
    EXPECT_TRUE(good.ok());
    EXPECT_NO_THROW(good.value());
    EXPECT_THROW((void)good.error(), std::logic_error);

    Result<void> bad = Error{EPERM, "delete_module"};
    EXPECT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().err, EPERM);
    try {
        bad.value();
        FAIL() << "value() did not throw";
    } catch (const Exception& e) {
        EXPECT_EQ(e.err(), EPERM);
    }
}

TEST(Error, FromErrno)
{
    errno = EACCES;
    const Error e = Error::from_errno("open");
    EXPECT_EQ(e.err, EACCES);
    EXPECT_EQ(e.message(), "open: Permission denied");
}

} // namespace
