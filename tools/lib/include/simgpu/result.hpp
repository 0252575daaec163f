// SPDX-License-Identifier: MIT
#pragma once

#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <variant>

namespace simgpu {

// A failed operation: a positive errno value and what was being done.
struct Error {
    int err = 0;
    std::string what;

    // Builds an Error from the current value of errno.
    static Error from_errno(std::string what);

    // "what: strerror(err)"
    std::string message() const;
};

// Thrown by Result::value() when the result holds an Error.
class Exception : public std::system_error {
public:
    explicit Exception(const Error& error);

    int err() const noexcept { return code().value(); }
};

// Either a value of type T or an Error.
template <typename T>
class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
    Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}

    bool ok() const noexcept { return v_.index() == 0; }
    explicit operator bool() const noexcept { return ok(); }

    T& value() &
    {
        throw_if_error();
        return std::get<0>(v_);
    }
    const T& value() const&
    {
        throw_if_error();
        return std::get<0>(v_);
    }
    T&& value() &&
    {
        throw_if_error();
        return std::get<0>(std::move(v_));
    }

    // Precondition: !ok().
    const Error& error() const
    {
        if (ok())
            throw std::logic_error("simgpu::Result::error() called on a value");
        return std::get<1>(v_);
    }

private:
    void throw_if_error() const
    {
        if (!ok())
            throw Exception(std::get<1>(v_));
    }

    std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Error error) : error_(std::move(error)) {}

    bool ok() const noexcept { return !error_.has_value(); }
    explicit operator bool() const noexcept { return ok(); }

    void value() const
    {
        if (error_)
            throw Exception(*error_);
    }

    // Precondition: !ok().
    const Error& error() const
    {
        if (!error_)
            throw std::logic_error("simgpu::Result::error() called on success");
        return *error_;
    }

private:
    std::optional<Error> error_;
};

} // namespace simgpu
