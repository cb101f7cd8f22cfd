#pragma once

#include <coroutine>
#include <memory>
#include <utility>

#include <caf/actor_cast.hpp>
#include <caf/unit.hpp>

#include "troupe/coro/detail/actor_core.hpp"
#include "troupe/coro/task.hpp"
#include "troupe/supervision/cancellation_token.hpp"

namespace troupe::coro {

/// Awaits a cancellation_token (see cancelled()).
///
/// Protocol: the token's callback may run on any thread (whoever calls cancel()); it only posts
/// a job to the awaiting actor's reply queue. The job runs in the actor's turn and resumes the
/// task there, unless the awaiter is gone by then (destroyed with its task, or the loser of a
/// first_of): the link it shares with the job is read and cleared on the actor only.
class cancellation {
public:
  /// Waits for `token`.
  explicit cancellation(cancellation_token token) : token_(std::move(token)) {}
  /// Moves the token; only before co_await.
  cancellation(cancellation&& other) noexcept : token_(std::move(other.token_)) {}
  cancellation& operator=(cancellation&&) = delete;

  ~cancellation() {
    if (link_)
      link_->target = nullptr;
  }

  /// True when the token is already cancelled: no suspension then.
  [[nodiscard]] bool await_ready() const noexcept { return token_.is_cancelled(); }

  /// Registers a callback on the token that wakes the task on its actor.
  template <class Promise>
  void await_suspend(std::coroutine_handle<Promise> h) {
    auto* self = h.promise().actor();
    link_ = std::make_shared<link>();
    link_->target = this;
    waiting_ = h;
    registration_ = token_.on_cancel(
        [link = link_, self, keep_alive = caf::actor_cast<caf::strong_actor_ptr>(self)] {
          self->post_reply(std::make_unique<wake>(link));
        });
  }

  /// Drops the registration and yields caf::unit.
  caf::unit_t await_resume() noexcept {
    registration_ = {};
    return caf::unit;
  }

private:
  struct link {
    cancellation* target = nullptr; // actor only
  };

  class wake final : public ::troupe::reply_job {
  public:
    explicit wake(std::shared_ptr<link> l) : ::troupe::reply_job(0), link_(std::move(l)) {}
    void run() override {
      if (auto* t = std::exchange(link_->target, nullptr))
        std::exchange(t->waiting_, {}).resume();
    }

  private:
    std::shared_ptr<link> link_;
  };

  cancellation_token token_;
  std::shared_ptr<link> link_;
  cancellation_token::registration registration_;
  std::coroutine_handle<> waiting_;
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
