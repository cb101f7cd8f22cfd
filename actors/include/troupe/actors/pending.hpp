#pragma once

#include <functional>
#include <memory>
#include <utility>

#include <caf/error.hpp>
#include <caf/sec.hpp>

namespace troupe {

/// A reply that has been asked for but not yet consumed: the result of request(), ask_async()
/// and of every combinator. Nothing is sent until it is started by then(), by await() or by a
/// combinator that takes it; it is started at most once.
///
/// Example (inside an actor; the callbacks run in the actor's own context):
///
///   troupe::request(self, counter, get_count{}, 1s)
///     .then([=](int64_t n) { ... }, [=](caf::error err) { ... });
///
/// Thread safety: a pending reply is a value owned by one thread at a time. Where its callbacks
/// run is said by the function that made it.
template <class R>
class pending {
public:
  /// The type of the reply.
  using value_type = R;
  /// The callback for the reply.
  using on_value = std::function<void(R)>;
  /// The callback for the error.
  using on_error = std::function<void(caf::error)>;
  /// Sends the request and arranges for exactly one of the callbacks to run.
  using starter = std::function<void(on_value, on_error)>;

  /// An empty pending reply: then() fails it with caf::sec::invalid_argument.
  pending() = default;
  /// A pending reply that `start` sends when it is started.
  explicit pending(starter start) : start_(std::move(start)) {}

  /// True until it is started, unless it was made empty.
  [[nodiscard]] explicit operator bool() const noexcept { return static_cast<bool>(start_); }

  /// Starts the request; exactly one of the two callbacks runs, once.
  void then(on_value f, on_error g) && {
    auto start = std::move(start_);
    start_ = nullptr;
    if (!start) {
      g(caf::make_error(caf::sec::invalid_argument));
      return;
    }
    start(std::move(f), std::move(g));
  }

private:
  starter start_;
};

/// A pending reply that is already there (useful in combinators and tests).
template <class R>
pending<R> ready(R value) {
  return pending<R>{[v = std::move(value)](auto f, auto) mutable { f(std::move(v)); }};
}

/// A pending reply that already failed.
template <class R>
pending<R> failed(caf::error err) {
  return pending<R>{[e = std::move(err)](auto, auto g) mutable { g(std::move(e)); }};
}

} // namespace troupe
