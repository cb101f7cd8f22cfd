#pragma once

// troupe::task<T>: a coroutine that runs on one actor.
//
// Affinity protocol (why a task never runs on a foreign thread):
//
//  1. A task is lazy. It starts when a typed mailbox's dispatch starts it as a handler (on the
//     actor, in its turn) or when another task co_awaits it (on the same actor, by symmetric
//     transfer). The promise records the actor's coroutine_host; a child inherits its parent's.
//  2. Every awaitable of this component registers its wake-up with the actor itself: a request
//     continuation in the actor's table, a CAF response handler, a timer message to the actor.
//     The actor runs these only in its own turn, so the coroutine resumes in that turn, on the
//     worker running the actor, never concurrently with another of its handlers.
//  3. A frame suspended when the actor stops is destroyed by the actor's on_exit (its RAII runs
//     there, on the actor); its awaitables detach from their wake-ups in their destructors, so
//     a reply or a timer arriving later finds nobody and resumes nothing.

#include <coroutine>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/unit.hpp>

#include "troupe/coro/detail/actor_core.hpp"
#include "troupe/coro/detail/frame_allocator.hpp"
#include "troupe/mailbox/coroutine_host.hpp"
#include "troupe/mailbox/mailbox_errc.hpp"

namespace troupe {

template <class T = void>
class task;

namespace coro {

/// Awaited first thing in a handler coroutine, makes it sequential: the actor handles no other
/// message of its mailbox until this coroutine finished (replies, timers and CAF messages that
/// resume it still arrive). Without it a handler coroutine is re-entrant, the default: while it
/// is suspended, the actor goes on handling the next messages, like CAF's `then`.
///
/// Example:
///
///   [self](transfer& t) -> troupe::task<bool> {
///     co_await troupe::coro::sequential;
///     auto ok = co_await troupe::coro::request(bank, debit{t.amount}, 1s);
///     ...
///   }
///
/// Pitfall: two actors whose sequential handlers request each other deadlock until the
/// requests time out, as with CAF's `await`.
struct sequential_t {};
inline constexpr sequential_t sequential{};

} // namespace coro

namespace detail {

template <class T>
class task_promise;

/// What a job root (start_async_job) is told when it finishes; dropped with an unfinished frame.
class job_completion_base {
public:
  virtual ~job_completion_base() = default;
};

class task_promise_base : public owned_frame {
public:
  task_promise_base() = default;
  task_promise_base(const task_promise_base&) = delete;
  task_promise_base& operator=(const task_promise_base&) = delete;

  ~task_promise_base() {
    if (host_ == nullptr)
      return;
    if (holds_queue_)
      host_->release_queue();
    host_->release(*this);
    // Destroyed before it answered (the actor stopped): the requester learns it at once.
    if (reply_)
      fail_reply(reply_, make_error(mailbox_errc::receiver_dead));
  }

  static void* operator new(std::size_t size) { return frame_allocator::allocate(size); }
  static void operator delete(void* ptr, std::size_t size) noexcept {
    frame_allocator::deallocate(ptr, size);
  }

  std::suspend_always initial_suspend() noexcept { return {}; }

  void unhandled_exception() noexcept { exception_ = std::current_exception(); }

  template <class Awaitable>
  Awaitable&& await_transform(Awaitable&& x) noexcept {
    return std::forward<Awaitable>(x);
  }

  std::suspend_never await_transform(coro::sequential_t) noexcept {
    if (!holds_queue_ && host_ != nullptr) {
      holds_queue_ = true;
      host_->hold_queue();
    }
    return {};
  }

  [[nodiscard]] coroutine_host* host() const noexcept { return host_; }
  [[nodiscard]] ::troupe::actor* actor() const noexcept { return host_->actor(); }

  // -- set by whoever starts the coroutine -----------------------------------------------------

  coroutine_host* host_ = nullptr;
  // The awaiting parent task; empty for a root (a handler or a forked branch).
  std::coroutine_handle<> continuation_;
  // A root's completion: answers its request, or tells its group that a branch is done; returns
  // the coroutine to transfer to (std::noop_coroutine() for none).
  std::coroutine_handle<> (*on_root_done_)(task_promise_base&) noexcept = nullptr;
  void* root_context_ = nullptr;
  std::size_t branch_index_ = 0;
  std::unique_ptr<reply_sink_base> reply_;
  std::unique_ptr<job_completion_base> job_done_; // a job root's completion
  std::exception_ptr exception_;
  bool holds_queue_ = false;
};

/// Resumes the parent, or finishes a root.
struct final_awaiter {
  [[nodiscard]] bool await_ready() const noexcept { return false; }
  template <class Promise>
  std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> h) noexcept {
    auto& p = h.promise();
    if (p.continuation_)
      return p.continuation_;
    if (p.on_root_done_ != nullptr)
      return p.on_root_done_(p); // may have destroyed the frame: touch nothing after
    return std::noop_coroutine();
  }
  void await_resume() const noexcept {}
};

/// Awaiting a child task: runs it on the parent's actor by symmetric transfer.
template <class T>
struct task_awaiter {
  std::coroutine_handle<task_promise<T>> child;

  [[nodiscard]] bool await_ready() const noexcept { return !child; }

  template <class Promise>
  std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> parent) noexcept {
    child.promise().host_ = parent.promise().host_;
    child.promise().continuation_ = parent;
    return child;
  }

  T await_resume() {
    if (!child)
      throw std::logic_error("co_await on an empty troupe::task");
    return child.promise().take();
  }
};

template <class T>
class task_promise final : public task_promise_base {
public:
  task<T> get_return_object() noexcept;
  final_awaiter final_suspend() noexcept { return {}; }
  void destroy_frame() noexcept override {
    std::coroutine_handle<task_promise>::from_promise(*this).destroy();
  }

  template <class U>
  requires std::is_convertible_v<U&&, T>
  void return_value(U&& x) { value_.emplace(std::forward<U>(x)); }

  T take() {
    if (exception_)
      std::rethrow_exception(exception_);
    return std::move(*value_);
  }

  std::optional<T> value_;
};

template <>
class task_promise<void> final : public task_promise_base {
public:
  task<void> get_return_object() noexcept;
  final_awaiter final_suspend() noexcept { return {}; }
  void destroy_frame() noexcept override {
    std::coroutine_handle<task_promise>::from_promise(*this).destroy();
  }
  void return_void() noexcept {}

  void take() {
    if (exception_)
      std::rethrow_exception(exception_);
  }
};

} // namespace detail

/// A coroutine that runs on one actor: a typed mailbox handler may be one (it is started on
/// the actor, and when it finishes its co_return value answers the request), and a task may
/// co_await other tasks and the awaitables of troupe::coro (requests, timers, blocking work,
/// gather, first_of).
///
/// A handler `task<R>` answers a request whose reply_type is R; `task<caf::expected<R>>` may
/// answer with an error; `task<void>` answers a request without reply_type (caf::unit).
///
/// Interleaving: re-entrant by default (the actor handles its next messages while the handler
/// is suspended); `co_await troupe::coro::sequential;` makes one handler hold the mailbox until
/// it finishes.
///
/// Example:
///
///   return troupe::handlers{
///     [self, db](lookup& q) -> troupe::task<caf::expected<std::string>> {
///       auto row = co_await troupe::coro::request(db, fetch{q.key}, 1s);
///       if (!row)
///         co_return row.error();
///       co_return row->name;
///     }};
///
/// Errors: an exception escaping a handler task crashes the actor like a throwing handler
/// (mailbox_errc::handler_threw carrying the message, also sent to the requester). A handler
/// task still suspended when its actor stops is destroyed; its requester gets receiver_dead.
///
/// Pitfalls: a handler coroutine must take its message by value (a reference parameter would
/// dangle after the first suspension). g++ 12 destroys an aggregate temporary (a lambda, a
/// message built with braces) that is part of a co_await expression twice: bind it to a local
/// first (`auto job = [..] {..}; co_await coro::spawn_blocking(job);`,
/// `fetch f{"key"}; co_await coro::request(db, f, 1s);`). Compiled with g++ 12, trivially
/// destructible messages and non-aggregate values (std::string, handles) are not affected.
///
/// Thread safety: a task runs on its actor only; create, await and destroy it there.
template <class T>
class [[nodiscard]] task {
public:
  /// Internal: the coroutine promise C++ looks up for functions returning a task.
  using promise_type = detail::task_promise<T>;
  /// The value the task co_returns and co_await on it yields (void for none).
  using value_type = T;
  /// Internal: recognised by typed mailboxes; a handler returning a task is started, not
  /// answered.
  using async_handler_tag = void;

  /// An empty task (valid() is false); awaiting it throws std::logic_error.
  task() noexcept = default;
  /// Internal: takes ownership of a frame (the promise creates tasks this way).
  explicit task(std::coroutine_handle<promise_type> h) noexcept : handle_(h) {}
  /// Takes over the frame; `other` is empty afterwards.
  task(task&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  /// Destroys the frame this task holds, then takes over `other`'s.
  task& operator=(task&& other) noexcept {
    if (this != &other) {
      reset();
      handle_ = std::exchange(other.handle_, {});
    }
    return *this;
  }
  task(const task&) = delete;
  task& operator=(const task&) = delete;
  ~task() { reset(); }

  /// Whether the task holds a coroutine frame (false when default-constructed, moved from or
  /// released).
  [[nodiscard]] bool valid() const noexcept { return static_cast<bool>(handle_); }

  /// Awaiting a task runs it on the awaiting task's actor; yields its value, rethrows its
  /// exception.
  auto operator co_await() && noexcept { return detail::task_awaiter<T>{handle_}; }

  /// The frame, still owned by this task (for the code that starts branches).
  [[nodiscard]] std::coroutine_handle<promise_type> handle() const noexcept { return handle_; }

  /// Gives up ownership of the frame (for the code that starts roots).
  std::coroutine_handle<promise_type> release() noexcept { return std::exchange(handle_, {}); }

private:
  void reset() noexcept {
    if (handle_)
      std::exchange(handle_, {}).destroy();
  }

  std::coroutine_handle<promise_type> handle_;
};

namespace detail {

template <class T>
task<T> task_promise<T>::get_return_object() noexcept {
  return task<T>{std::coroutine_handle<task_promise<T>>::from_promise(*this)};
}

inline task<void> task_promise<void>::get_return_object() noexcept {
  return task<void>{std::coroutine_handle<task_promise<void>>::from_promise(*this)};
}

/// The message an exception escaping a coroutine carries into handler_threw.
inline std::string what_of(const std::exception_ptr& ex) {
  try {
    std::rethrow_exception(ex);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown exception";
  }
}

/// Finishes a handler task: answers its request from its result, or crashes the actor.
template <class R, class T>
std::coroutine_handle<> finish_handler(task_promise_base& base) noexcept {
  auto& p = static_cast<task_promise<T>&>(base);
  auto* host = p.host_;
  auto h = std::coroutine_handle<task_promise<T>>::from_promise(p);
  if (p.exception_) {
    auto reason = make_error(mailbox_errc::handler_threw, what_of(p.exception_));
    if (p.reply_)
      fail_reply(p.reply_, reason);
    h.destroy();
    host->crash(std::move(reason));
    return std::noop_coroutine();
  }
  if (p.reply_) {
    if constexpr (std::is_void_v<T>) {
      if constexpr (std::is_same_v<R, caf::unit_t>)
        complete_reply<R>(p.reply_, caf::unit);
      else
        fail_reply(p.reply_, make_error(mailbox_errc::handler_threw,
                                        std::string{"handler returned no reply"}));
    } else if constexpr (caf::detail::is_expected<T>::value) {
      auto& r = *p.value_;
      if (r)
        complete_reply<R>(p.reply_, R(std::move(*r)));
      else
        fail_reply(p.reply_, std::move(r.error()));
    } else {
      complete_reply<R>(p.reply_, R(std::move(*p.value_)));
    }
  }
  h.destroy();
  return std::noop_coroutine();
}

template <class R, class Done>
class job_completion final : public job_completion_base {
public:
  explicit job_completion(Done done) : done_(std::move(done)) {}
  void operator()(caf::expected<R> outcome, std::optional<std::string> threw) {
    done_(std::move(outcome), std::move(threw));
  }

private:
  Done done_;
};

/// Finishes a job task: destroys its frame, then tells its completion the outcome.
template <class R, class T, class Done>
std::coroutine_handle<> finish_job(task_promise_base& base) noexcept {
  auto& p = static_cast<task_promise<T>&>(base);
  auto done = std::move(p.job_done_);
  auto h = std::coroutine_handle<task_promise<T>>::from_promise(p);
  std::optional<std::string> threw;
  caf::expected<R> outcome{make_error(mailbox_errc::handler_threw)}; // set below
  if (p.exception_) {
    threw = what_of(p.exception_);
    outcome = make_error(mailbox_errc::handler_threw, *threw);
  } else if constexpr (std::is_void_v<T>) {
    if constexpr (std::is_same_v<R, caf::unit_t>)
      outcome = caf::unit;
    else
      outcome = make_error(mailbox_errc::handler_threw, std::string{"handler returned no reply"});
  } else if constexpr (caf::detail::is_expected<T>::value) {
    auto& r = *p.value_;
    if (r)
      outcome = R(std::move(*r));
    else
      outcome = std::move(r.error());
  } else {
    outcome = R(std::move(*p.value_));
  }
  h.destroy();
  (*static_cast<job_completion<R, Done>*>(done.get()))(std::move(outcome), std::move(threw));
  return std::noop_coroutine();
}

} // namespace detail

/// Starts a handler task on its actor (called by a typed mailbox's dispatch). Runs it until its
/// first suspension; from then on the actor owns the frame.
template <class R, class T>
void start_async_handler(task<T> t, coroutine_host& host,
                         std::unique_ptr<::troupe::reply_sink_base> reply) {
  auto h = t.release();
  if (!h) {
    if (reply)
      ::troupe::fail_reply(reply, make_error(mailbox_errc::handler_threw,
                                             std::string{"handler returned an empty task"}));
    return;
  }
  auto& p = h.promise();
  p.host_ = &host;
  p.reply_ = std::move(reply);
  p.on_root_done_ = &detail::finish_handler<R, T>;
  host.adopt(p);
  h.resume();
}

/// Starts a task as a job on its actor (called by a pool worker whose handler is a coroutine):
/// runs it until its first suspension; when it finishes, `done(outcome, threw)` runs on the
/// actor with caf::expected<R> and, when an exception escaped, its message. A frame destroyed
/// unfinished (the actor stopped) never calls `done`.
template <class R, class T, class Done>
void start_async_job(task<T> t, coroutine_host& host, Done done) {
  auto h = t.release();
  if (!h) {
    done(caf::expected<R>{make_error(mailbox_errc::handler_threw,
                                     std::string{"handler returned an empty task"})},
         std::optional<std::string>{"handler returned an empty task"});
    return;
  }
  auto& p = h.promise();
  p.host_ = &host;
  p.job_done_ = std::make_unique<detail::job_completion<R, Done>>(std::move(done));
  p.on_root_done_ = &detail::finish_job<R, T, Done>;
  host.adopt(p);
  h.resume();
}

} // namespace troupe
