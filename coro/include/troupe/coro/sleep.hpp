#pragma once

#include <chrono>
#include <coroutine>
#include <memory>
#include <optional>
#include <utility>

#include <caf/actor_cast.hpp>
#include <caf/actor_clock.hpp>
#include <caf/unit.hpp>

#include "troupe/coro/detail/actor_core.hpp"
#include "troupe/coro/task.hpp"

namespace troupe::coro {

/// A timer awaited inside a troupe::task (see sleep_for and sleep_until).
class timer {
public:
  /// A timer for `delay`, counted from the co_await; zero or negative fires at once (still
  /// through a message to the actor, not inline).
  explicit timer(std::chrono::nanoseconds delay) noexcept : delay_(delay) {}
  /// Copies the delay only: move a timer before awaiting it, never while it is armed.
  timer(timer&& other) noexcept : delay_(other.delay_) {}
  timer& operator=(timer&&) = delete;

  ~timer() {
    // Cancelled while armed: drop the table entry now; the timer message finds nothing later.
    if (k_ != nullptr) {
      k_->target_ = nullptr;
      self_->fail_request(id_, make_error(mailbox_errc::abandoned));
    }
  }

  /// Always suspends.
  [[nodiscard]] bool await_ready() const noexcept { return false; }

  /// Arms the timer (a deadline of the actor's, see actor::fail_request_after): it resumes the task
  /// in the actor's turn.
  template <class Promise>
  void await_suspend(std::coroutine_handle<Promise> h) {
    self_ = h.promise().actor();
    auto k = std::make_unique<fired>(this);
    k_ = k.get();
    id_ = self_->add_request(std::move(k));
    waiting_ = h;
    auto delay = delay_.count() > 0 ? delay_ : std::chrono::nanoseconds{0};
    self_->fail_request_after(id_, delay, caf::error{});
  }

  /// Yields caf::unit.
  caf::unit_t await_resume() const noexcept { return caf::unit; }

private:
  // The timer's entry in the actor's request table: the timeout message "fails" it.
  class fired final : public ::troupe::continuation {
  public:
    explicit fired(timer* target) noexcept : target_(target) {}
    void deliver(::troupe::reply_job&) override {}
    void fail(caf::error) override {
      if (auto* t = std::exchange(target_, nullptr)) {
        t->k_ = nullptr;
        std::exchange(t->waiting_, {}).resume();
      }
    }
    timer* target_;
  };

  std::chrono::nanoseconds delay_;
  ::troupe::actor* self_ = nullptr;
  fired* k_ = nullptr;
  uint64_t id_ = 0;
  std::coroutine_handle<> waiting_;
};

/// Suspends the awaiting task for `delay` on the actor system's clock; no thread blocks, and
/// the actor handles other messages meanwhile (unless the task is sequential). Yields
/// caf::unit. Cancelled with its task (the timer is released, nothing resumes).
///
/// Example:
///
///   co_await troupe::coro::sleep_for(100ms);
///
/// Thread safety: co_await only inside a troupe::task.
template <class Rep, class Period>
[[nodiscard]] timer sleep_for(std::chrono::duration<Rep, Period> delay) {
  return timer{std::chrono::duration_cast<std::chrono::nanoseconds>(delay)};
}

/// Suspends the awaiting task until `when` on the actor system's clock (caf::actor_clock, the
/// steady clock, or the test coordinator's clock in deterministic tests).
class timer_until {
public:
  /// A timer for `when`; a time in the past fires at once (still through a message).
  explicit timer_until(caf::actor_clock::time_point when) noexcept : when_(when) {}

  /// Always suspends.
  [[nodiscard]] bool await_ready() const noexcept { return false; }

  /// Arms a timer for the time left until `when`, read from the actor's clock now.
  template <class Promise>
  void await_suspend(std::coroutine_handle<Promise> h) {
    auto* self = h.promise().actor();
    inner_.emplace(
        std::chrono::duration_cast<std::chrono::nanoseconds>(when_ - self->clock().now()));
    inner_->await_suspend(h);
  }

  /// Yields caf::unit.
  caf::unit_t await_resume() const noexcept { return caf::unit; }

private:
  caf::actor_clock::time_point when_;
  std::optional<timer> inner_;
};

[[nodiscard]] inline timer_until sleep_until(caf::actor_clock::time_point when) {
  return timer_until{when};
}

} // namespace troupe::coro
