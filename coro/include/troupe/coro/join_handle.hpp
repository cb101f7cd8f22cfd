#pragma once

// Spawning a coroutine as its own actor (Tokio's tokio::spawn) and awaiting its result through
// a join_handle (Tokio's JoinHandle).
//
// Completion protocol (why every handle learns exactly one outcome):
//  - The task's result lives in a state shared by the runner actor and the handle, written once.
//  - The runner completes it with the body's value, or with handler_threw when the body throws
//    (the runner then crashes with the same reason).
//  - A guard in the runner's frame completes it with runtime_errc::cancelled when the frame is
//    destroyed before the body finished: abort(), a kill, the runtime's shutdown, or a stop
//    before the body even started. A completed state ignores later completions.

#include <chrono>
#include <coroutine>
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include <caf/actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/expected.hpp>
#include <caf/send.hpp>
#include <caf/unit.hpp>

#include "troupe/coro/detail/actor_wake.hpp"
#include "troupe/coro/detail/join_state.hpp"
#include "troupe/coro/detail/start_body.hpp"
#include "troupe/coro/task.hpp"
#include "troupe/mailbox/handlers.hpp"
#include "troupe/mailbox/mailbox_actor.hpp"
#include "troupe/mailbox/spawn_mailbox.hpp"

namespace troupe {

namespace detail {

/// The value a task<T> yields through its handle: T, caf::unit_t for void, R for
/// caf::expected<R> (its error becomes the handle's error).
template <class T>
struct joined {
  using type = T;
};
template <>
struct joined<void> {
  using type = caf::unit_t;
};
template <class R>
struct joined<caf::expected<R>> {
  using type = R;
};
template <class T>
using joined_t = typename joined<T>::type;

/// The only message type of a runner's mailbox: nothing sends it (a mailbox needs one).
struct runner_message {};

/// Completes the shared state with runtime_errc::cancelled unless the body completed it.
template <class V>
class completion_guard {
public:
  explicit completion_guard(std::shared_ptr<join_state<V>> st) : st_(std::move(st)) {}
  completion_guard(completion_guard&& other) noexcept = default;
  completion_guard(const completion_guard&) = delete;
  completion_guard& operator=(const completion_guard&) = delete;
  completion_guard& operator=(completion_guard&&) = delete;
  ~completion_guard() {
    if (st_)
      st_->fail(make_error(runtime_errc::cancelled));
  }
  [[nodiscard]] join_state<V>& state() const noexcept { return *st_; }

private:
  std::shared_ptr<join_state<V>> st_;
};

/// The runner's root: runs the body and completes the state with its outcome.
template <class T, class Body>
task<void> run_joined(Body body, completion_guard<joined_t<T>> guard, ::troupe::actor* self) {
  auto& st = guard.state();
  try {
    if constexpr (std::is_void_v<T>) {
      co_await body();
      st.complete(caf::unit);
    } else if constexpr (caf::detail::is_expected<T>::value) {
      auto r = co_await body();
      if (r)
        st.complete(std::move(*r));
      else
        st.fail(std::move(r.error()));
    } else {
      st.complete(co_await body());
    }
  } catch (...) {
    st.fail(make_error(mailbox_errc::handler_threw, what_of(std::current_exception())));
    throw; // crashes the runner with handler_threw, as a throwing handler does
  }
  // The body's outcome is out; the runner ends with its root.
  self->quit();
}

} // namespace detail

/// The handle of a task spawned with spawn_task (Tokio's JoinHandle): await its outcome in a
/// task, wait for it from a thread, or abort the task. Dropping the handle detaches the task,
/// which runs on.
///
/// Example:
///
///   troupe::join_handle<int> h = troupe::spawn_task(rt, [db]() -> troupe::task<int> {
///     auto n = co_await troupe::coro::request(db, count{}, 1s);
///     co_return n ? *n : 0;
///   }).value();
///   caf::expected<int> n = co_await std::move(h);   // inside another task
///   // or, from a thread: auto n = h.join(5s);
///
/// Errors: runtime_errc::cancelled (aborted, killed, the runtime shut down before it finished),
/// mailbox_errc::handler_threw (the body threw; its message), the error of a
/// task<caf::expected<R>>, runtime_errc::timeout (join's wait ran out; the task runs on).
///
/// Thread safety: join(), abort(), finished() from any thread (join() never from inside an
/// actor: it would hold its worker); co_await only inside a troupe::task. Move-only, like
/// Tokio's: the outcome is handed out once.
template <class T>
class join_handle {
public:
  /// What the task yields: T, caf::unit_t for task<void>, R for task<caf::expected<R>>.
  using value_type = detail::joined_t<T>;

  /// An empty handle (operator bool is false).
  join_handle() = default;
  /// Takes over `other`'s task; `other` is empty afterwards.
  join_handle(join_handle&& other) noexcept = default;
  /// Detaches the task this handle had, then takes over `other`'s.
  join_handle& operator=(join_handle&& other) noexcept = default;
  join_handle(const join_handle&) = delete;
  join_handle& operator=(const join_handle&) = delete;
  /// Internal: made by spawn_task.
  join_handle(std::shared_ptr<detail::join_state<value_type>> st, caf::actor runner)
      : st_(std::move(st)), runner_(std::move(runner)) {}

  /// False for an empty or moved-from handle.
  [[nodiscard]] explicit operator bool() const noexcept { return st_ != nullptr; }

  /// Whether the task has an outcome (Tokio's is_finished).
  [[nodiscard]] bool finished() const { return st_ && st_->done(); }

  /// Cancels the task (Tokio's abort): its actor stops, its suspended frame is destroyed (its
  /// RAII runs), and the outcome is runtime_errc::cancelled unless it had finished already.
  void abort() const {
    if (runner_)
      caf::anon_send_exit(runner_, caf::exit_reason::user_shutdown);
  }

  /// Blocks the calling thread until the outcome is in or `timeout` passed, and hands the
  /// outcome out (once: the handle is empty afterwards). Errors: see the class; timeout leaves
  /// the handle as it was.
  template <class Rep, class Period>
  caf::expected<value_type> join(std::chrono::duration<Rep, Period> timeout) {
    if (!st_)
      return caf::make_error(caf::sec::invalid_argument, std::string{"empty join_handle"});
    if (!st_->wait_for(std::chrono::duration_cast<std::chrono::nanoseconds>(timeout)))
      return make_error(runtime_errc::timeout);
    return take();
  }

  /// Internal: the shared outcome (task_scope watches its children through it). Not empty.
  [[nodiscard]] detail::join_state_base& state() const noexcept { return *st_; }

  /// The actor that runs the task: monitor or link it like any actor.
  [[nodiscard]] const caf::actor& actor() const noexcept { return runner_; }

  /// Awaits the outcome inside a troupe::task and consumes the handle; the task resumes on its
  /// own actor. In a coro::first_of that another branch wins, the handle is gone with the
  /// branch (the task runs on, detached): use wait() there.
  auto operator co_await() && noexcept { return awaiter{std::move(*this)}; }

  /// Awaits the outcome without giving up the handle until it is in (Tokio's `&mut handle` in
  /// select!): a wait that loses a coro::first_of leaves the handle as it was, to await, join or
  /// abort later. The handle must outlive the wait.
  ///
  /// Example: `auto r = co_await coro::first_of(h.wait(), coro::sleep_for(1s));
  ///           if (r.index() == 1) h.abort();`
  [[nodiscard]] auto wait() & noexcept { return awaiter{this}; }

private:
  caf::expected<value_type> take() {
    auto st = std::move(st_);
    runner_ = nullptr;
    return st->take();
  }

  // Owns the handle (co_await std::move(h)) or borrows it (h.wait()).
  class awaiter {
  public:
    explicit awaiter(join_handle h) : owned_(std::move(h)), h_(&owned_) {}
    explicit awaiter(join_handle* h) noexcept : h_(h) {}
    awaiter(awaiter&& other) noexcept
        : owned_(std::move(other.owned_)), h_(other.h_ == &other.owned_ ? &owned_ : other.h_) {}
    awaiter(const awaiter&) = delete;
    awaiter& operator=(const awaiter&) = delete;
    awaiter& operator=(awaiter&&) = delete;
    ~awaiter() {
      if (link_)
        link_->waiting = {};
      if (h_->st_)
        h_->st_->remove_waker(waker_id_);
    }

    [[nodiscard]] bool await_ready() const { return !h_->st_ || h_->st_->done(); }

    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> h) {
      link_ = std::make_shared<detail::wake_link>();
      link_->waiting = h;
      waker_id_ = h_->st_->add_waker(detail::make_waker(h.promise().actor(), link_));
      if (waker_id_ != 0)
        return true;
      link_->waiting = {}; // finished meanwhile: go on at once
      return false;
    }

    caf::expected<value_type> await_resume() {
      link_ = nullptr;
      waker_id_ = 0;
      if (!h_->st_)
        return caf::make_error(caf::sec::invalid_argument, std::string{"empty join_handle"});
      return h_->take();
    }

  private:
    join_handle owned_;
    join_handle* h_;
    std::shared_ptr<detail::wake_link> link_;
    uint64_t waker_id_ = 0;
  };

  std::shared_ptr<detail::join_state<value_type>> st_;
  caf::actor runner_;
};

/// Spawns `body()` (a callable returning troupe::task<T>) as its own actor on `rt` and returns
/// its handle (Tokio's tokio::spawn). The body starts at once; it runs on its actor like any
/// handler task, and the actor stops when it finishes. `body` is kept alive until then, so a
/// coroutine lambda's captures are safe.
///
/// Errors: the runtime's spawn errors (runtime_errc::shutting_down).
/// Thread safety: any thread.
template <class Body>
requires requires(Body& b) {
  typename std::invoke_result_t<Body&>::value_type;
}
troupe::result<join_handle<typename std::invoke_result_t<Body&>::value_type>>
spawn_task(runtime& rt, Body body) {
  using T = typename std::invoke_result_t<Body&>::value_type;
  using V = detail::joined_t<T>;
  auto st = std::make_shared<detail::join_state<V>>();
  auto runner = spawn_mailbox<detail::runner_message>(
      rt, {}, [st, body = std::move(body)](mailbox_self<detail::runner_message>* self) mutable {
        self->post_reply(std::make_unique<detail::start_body>(
            detail::run_joined<T>(std::move(body), detail::completion_guard<V>{st}, self),
            self->coroutines()));
        return handlers{[](detail::runner_message&) {}};
      });
  if (!runner)
    return runner.error();
  return join_handle<T>{std::move(st), runner->actor()};
}

} // namespace troupe
