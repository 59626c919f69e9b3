// include/iosim/status.hpp — Status and Result<T>: host-level failures (unreadable scenario file, bad
// argument). Never for modelled kernel errors (errno values) or bugs (IOSIM_ASSERT).
#pragma once

#include <string>
#include <utility>
#include <variant>

#include "iosim/assert.hpp"

namespace iosim {

// Either ok or an error with a message that says what went wrong and where ("scenarios/x.json: workload:
// unknown field ..."). The message is written for a person at a terminal; callers print it as is.
class [[nodiscard]] Status {
 public:
  static Status ok() { return Status(); }
  static Status error(std::string message) { return Status(std::move(message), false); }

  bool is_ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  // Empty when ok.
  const std::string& message() const { return message_; }

 private:
  Status() = default;
  Status(std::string message, bool ok) : message_(std::move(message)), ok_(ok) {}
  std::string message_;
  bool ok_ = true;
};

// A value or the Status that explains why there is none (std::expected is C++23; this is its small subset).
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}      // NOLINT(google-explicit-constructor): return value;
  Result(Status error) : state_(std::move(error)) {  // NOLINT(google-explicit-constructor): return error;
    IOSIM_ASSERT(!std::get<Status>(state_).is_ok(), "a Result without a value needs an error Status");
  }

  bool is_ok() const { return std::holds_alternative<T>(state_); }
  explicit operator bool() const { return is_ok(); }

  const T& value() const& { return checked_value(); }
  T& value() & { return const_cast<T&>(checked_value()); }
  T&& value() && { return std::move(const_cast<T&>(checked_value())); }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

  // Status::ok() when there is a value.
  Status status() const { return is_ok() ? Status::ok() : std::get<Status>(state_); }
  // The error message; empty when there is a value.
  const std::string& error() const {
    static const std::string none;
    return is_ok() ? none : std::get<Status>(state_).message();
  }

 private:
  const T& checked_value() const {
    IOSIM_ASSERT(is_ok(), "Result::value() called on an error");
    return std::get<T>(state_);
  }
  std::variant<T, Status> state_;
};

}  // namespace iosim
