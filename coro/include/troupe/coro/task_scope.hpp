#pragma once

// A task group: tasks spawned through a scope are aborted when it ends, and the first failure
// cancels the rest (Tokio's JoinSet dropped on exit, try_join's early return).
//
// Protocol: each child's completion (on whatever thread completes it) updates the scope's shared
// count under its lock; the first child that fails records its error and aborts every sibling;
// the awaiting parent is woken on its own actor (detail::make_waker) once nothing is left to
// wait for. The scope's destructor aborts children still running, so a parent that returns,
// throws or is stopped (its frame destroyed with its actor) takes its children with it. An
// abort is an exit message, as Tokio's abort is a request: a child in the middle of a turn (or
// waiting for spawn_blocking work) finishes that turn first; nothing of it runs after.

#include <coroutine>
#include <cstddef>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <utility>
#include <vector>

#include <caf/actor.hpp>
#include <caf/error.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>

#include "troupe/coro/detail/actor_wake.hpp"
#include "troupe/coro/join_handle.hpp"

namespace troupe {

namespace detail {

/// What a scope shares with its children's completion callbacks.
struct scope_state {
  std::mutex mtx;
  std::size_t running = 0;
  caf::error first_error;
  std::vector<caf::actor> runners; // the children still running
  join_state_base::waker parent;   // the awaiting join, if any

  void child_done(caf::actor_id id, const caf::error& err) {
    std::vector<caf::actor> to_abort;
    caf::actor finished; // released outside the lock
    join_state_base::waker to_wake;
    {
      std::lock_guard guard{mtx};
      --running;
      for (auto i = runners.begin(); i != runners.end(); ++i)
        if (i->id() == id) {
          finished = std::move(*i);
          runners.erase(i);
          break;
        }
      if (err && !first_error) {
        first_error = err;
        to_abort = runners;
      }
      if (running == 0 || first_error)
        to_wake = std::exchange(parent, nullptr);
    }
    for (auto& r : to_abort)
      caf::anon_send_exit(r, caf::exit_reason::user_shutdown);
    if (to_wake)
      to_wake();
  }
};

} // namespace detail

/// A group of tasks aborted when it ends (structured concurrency). spawn() starts a child as
/// its own actor (see spawn_task) and hands back its join_handle; join() awaits them all and
/// yields the first error, after which the siblings are aborted (try_join). The destructor
/// aborts every child still running: a parent that returns early, throws or is stopped leaves
/// nothing running behind (an abort lands after the child's current turn, see the top of this
/// header). A child's error counts as the group's failure whatever caused it, an abort() of its
/// own handle (runtime_errc::cancelled) included. After a failure, spawn() refuses with that
/// error.
///
/// Example:
///
///   troupe::task<caf::error> fetch_both(troupe::runtime& rt, db_box db) {
///     troupe::task_scope scope{rt};
///     auto a = scope.spawn([db]() -> troupe::task<caf::expected<row>> { ... }).value();
///     auto b = scope.spawn([db]() -> troupe::task<caf::expected<row>> { ... }).value();
///     if (auto err = co_await scope.join())
///       co_return err;                       // one failed, the other was cancelled
///     auto ra = co_await std::move(a);       // ready: every child finished
///     ...
///   }
///
/// Thread safety: use a scope inside one troupe::task (its actor); the children run anywhere.
class task_scope {
public:
  /// An empty scope whose children run on `rt`.
  explicit task_scope(runtime& rt) : rt_(&rt), st_(std::make_shared<detail::scope_state>()) {}
  task_scope(const task_scope&) = delete;
  task_scope& operator=(const task_scope&) = delete;

  /// Aborts every child still running.
  ~task_scope() { abort_all(); }

  /// Spawns `body()` (a callable returning troupe::task<T>) as a child of the scope; the handle
  /// yields its outcome (once join() returned without error, at once). Errors: as spawn_task;
  /// after a child failed, that child's error.
  template <class Body>
  auto spawn(Body body) -> decltype(spawn_task(std::declval<runtime&>(), std::move(body))) {
    {
      std::lock_guard guard{st_->mtx};
      if (st_->first_error)
        return st_->first_error;
    }
    auto h = spawn_task(*rt_, std::move(body));
    if (!h)
      return h;
    auto actor_id = h->actor().id();
    {
      std::lock_guard guard{st_->mtx};
      ++st_->running;
      st_->runners.push_back(h->actor());
    }
    auto& child = h->state();
    auto waker_id =
        child.add_waker([st = st_, c = &child, actor_id] { st->child_done(actor_id, c->error()); });
    if (waker_id == 0) // it finished before the waker was in place
      st_->child_done(actor_id, child.error());
    return h;
  }

  /// Awaits every child, or the first failure. Yields the first error (the other children are
  /// being aborted then; their outcome is runtime_errc::cancelled unless they finished), or no
  /// error when every child succeeded. One join at a time: a second one while the first waits
  /// throws std::logic_error.
  [[nodiscard]] auto join() noexcept { return join_awaiter{st_.get()}; }

  /// Aborts every child (their outcome: runtime_errc::cancelled unless finished already).
  void abort_all() {
    std::vector<caf::actor> runners;
    {
      std::lock_guard guard{st_->mtx};
      runners = st_->runners;
    }
    for (auto& r : runners)
      caf::anon_send_exit(r, caf::exit_reason::user_shutdown);
  }

  /// Children that have not finished yet.
  [[nodiscard]] std::size_t running() const {
    std::lock_guard guard{st_->mtx};
    return st_->running;
  }

private:
  class join_awaiter {
  public:
    explicit join_awaiter(detail::scope_state* st) noexcept : st_(st) {}
    join_awaiter(join_awaiter&&) noexcept = default;
    join_awaiter(const join_awaiter&) = delete;
    join_awaiter& operator=(const join_awaiter&) = delete;
    join_awaiter& operator=(join_awaiter&&) = delete;
    ~join_awaiter() {
      if (!link_)
        return;
      link_->waiting = {};
      detail::join_state_base::waker dropped; // outside the lock: may hold an actor's last ref
      std::lock_guard guard{st_->mtx};
      dropped = std::move(st_->parent);
      st_->parent = nullptr;
    }

    [[nodiscard]] bool await_ready() const {
      std::lock_guard guard{st_->mtx};
      return st_->running == 0 || st_->first_error;
    }

    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> h) {
      link_ = std::make_shared<detail::wake_link>();
      link_->waiting = h;
      auto w = detail::make_waker(h.promise().actor(), link_);
      std::lock_guard guard{st_->mtx};
      if (st_->running == 0 || st_->first_error) {
        link_->waiting = {};
        return false;
      }
      if (st_->parent) {
        link_->waiting = {};
        link_ = nullptr;
        throw std::logic_error("troupe::task_scope: join() while another join() waits");
      }
      st_->parent = std::move(w);
      return true;
    }

    caf::error await_resume() {
      std::lock_guard guard{st_->mtx};
      return st_->first_error;
    }

  private:
    detail::scope_state* st_;
    std::shared_ptr<detail::wake_link> link_;
  };

  runtime* rt_;
  std::shared_ptr<detail::scope_state> st_;
};

} // namespace troupe
