#pragma once

// troupe::result<T>: what Troupe's public functions return, a value or a typed caf::error.
//
// It is a caf::expected<T> (so `if (r)`, `*r`, `r->`, `r.error()` and comparisons work as with
// CAF), except that value() checks: on an error it throws troupe::bad_result_access, carrying
// the typed error and its rendered text, in every build type. caf::expected<T>::value() is
// noexcept with only a debug assertion, so the same call on an error is undefined behaviour in a
// release build. `*r` and `r->` stay unchecked, as in std::expected: test `r` first.
//
// Example:
//
//   troupe::result<int> r = remote.ask(add{1, 2}, std::chrono::seconds{1});
//   if (!r)
//     std::cerr << troupe::render(r.error()) << '\n';  // the typed error
//   int sum = r.value();                                 // throws bad_result_access on an error
//
// Errors: value() throws bad_result_access when the result holds an error.
//
// Thread safety: a result is a plain value, like caf::expected.

#include <exception>
#include <string>
#include <type_traits>
#include <utility>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "troupe/scheduler/errors.hpp"

namespace troupe {

/// Thrown by result<T>::value() on an error. what() is the rendered error.
class bad_result_access : public std::exception {
public:
  /// Carries `err` and renders it into what().
  explicit bad_result_access(caf::error err)
      : error_(std::move(err)), what_("troupe::result holds an error: " + render(error_)) {}

  /// The typed error the result held.
  [[nodiscard]] const caf::error& error() const noexcept { return error_; }
  /// "troupe::result holds an error: " and the rendered error (see render()).
  [[nodiscard]] const char* what() const noexcept override { return what_.c_str(); }

private:
  caf::error error_;
  std::string what_;
};

/// A value of type T or a typed caf::error: a caf::expected<T> whose value() throws
/// bad_result_access on an error, where caf::expected's is undefined behaviour.
template <class T>
class result : public caf::expected<T> {
public:
  /// The caf::expected<T> this type extends; its constructors are inherited.
  using base = caf::expected<T>;
  using base::base;

  /// Converts a caf::expected<T>, implicitly.
  // NOLINTNEXTLINE(google-explicit-constructor): a caf::expected is a result.
  result(base x) noexcept(std::is_nothrow_move_constructible_v<T>) : base(std::move(x)) {}

  /// The value; throws bad_result_access carrying the error when there is none.
  [[nodiscard]] T& value() & {
    check();
    return base::value();
  }
  /// The value of a const result; throws bad_result_access carrying the error when there is
  /// none.
  [[nodiscard]] const T& value() const& {
    check();
    return base::value();
  }
  /// The value of an expiring result, to move from; throws bad_result_access carrying the
  /// error when there is none.
  [[nodiscard]] T&& value() && {
    check();
    return std::move(base::value());
  }

private:
  void check() const {
    if (!*this)
      throw bad_result_access{this->error()};
  }
};

/// result<void>: success or an error; value() throws bad_result_access on an error.
template <>
class result<void> : public caf::expected<void> {
public:
  /// The caf::expected<void> this type extends; its constructors are inherited.
  using base = caf::expected<void>;
  using base::base;

  /// Converts a caf::expected<void>, implicitly.
  // NOLINTNEXTLINE(google-explicit-constructor): a caf::expected is a result.
  result(base x) noexcept : base(std::move(x)) {}

  /// Returns on success; throws bad_result_access carrying the error otherwise.
  void value() const {
    if (!*this)
      throw bad_result_access{this->error()};
  }
};

} // namespace troupe
