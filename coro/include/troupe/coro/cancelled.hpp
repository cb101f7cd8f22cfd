#pragma once

#include <coroutine>
#include <memory>
#include <utility>

#include <caf/unit.hpp>

#include "troupe/coro/detail/actor_core.hpp"
#include "troupe/coro/detail/actor_wake.hpp"
#include "troupe/coro/task.hpp"
#include "troupe/supervision/cancellation_token.hpp"

namespace troupe::coro {

/// Awaits a cancellation_token (see cancelled()).
///
/// Protocol: the token's callback may run on any thread (whoever calls cancel()); it only posts
/// a wake-up to the awaiting actor (detail::make_waker), which resumes the task in the actor's
/// turn unless the awaiter is gone by then (destroyed with its task, or the loser of a
/// first_of).
class cancellation {
public:
  /// Waits for `token`.
  explicit cancellation(cancellation_token token) : token_(std::move(token)) {}
  /// Moves the token; only before co_await.
  cancellation(cancellation&& other) noexcept : token_(std::move(other.token_)) {}
  cancellation& operator=(cancellation&&) = delete;

  ~cancellation() {
    if (link_)
      link_->waiting = {};
  }

  /// True when the token is already cancelled: no suspension then.
  [[nodiscard]] bool await_ready() const noexcept { return token_.is_cancelled(); }

  /// Registers a callback on the token that wakes the task on its actor.
  template <class Promise>
  void await_suspend(std::coroutine_handle<Promise> h) {
    link_ = std::make_shared<detail::wake_link>();
    link_->waiting = h;
    registration_ = token_.on_cancel(detail::make_waker(h.promise().actor(), link_));
  }

  /// Drops the registration and yields caf::unit.
  caf::unit_t await_resume() noexcept {
    registration_ = {};
    return caf::unit;
  }

private:
  cancellation_token token_;
  std::shared_ptr<detail::wake_link> link_;
  cancellation_token::registration registration_;
};

/// Suspends the awaiting task until `token` is cancelled (at once if it already is) and yields
/// caf::unit; the task resumes on its own actor, never on the thread that cancelled. Most
/// useful as a branch of first_of, to end a wait when the work is called off.
///
/// Example (a supervised child's factory hands its child_context::token to the actor):
///
///   auto r = co_await troupe::coro::first_of(troupe::coro::request(db, f, 5s),
///                                            troupe::coro::cancelled(token));
///   if (r.index() == 1) co_return;   // stopped by the supervisor
///
/// Thread safety: co_await only inside a troupe::task; cancel() may be called from any thread.
[[nodiscard]] inline cancellation cancelled(cancellation_token token) {
  return cancellation{std::move(token)};
}

} // namespace troupe::coro
