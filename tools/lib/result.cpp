// SPDX-License-Identifier: MIT
#include "simgpu/result.hpp"

#include <cerrno>

namespace simgpu {

Error Error::from_errno(std::string what)
{
    return Error{errno, std::move(what)};
}

std::string Error::message() const
{
    return what + ": " + std::generic_category().message(err);
}

Exception::Exception(const Error& error)
    : std::system_error(error.err, std::generic_category(), error.what)
{
}

} // namespace simgpu
