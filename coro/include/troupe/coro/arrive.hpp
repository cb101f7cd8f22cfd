#pragma once

#include <coroutine>
#include <memory>
#include <utility>

#include "troupe/actors/barrier.hpp"
#include "troupe/coro/detail/actor_core.hpp"
#include "troupe/coro/task.hpp"

namespace troupe::coro {

/// An arrival at a troupe::barrier awaited inside a troupe::task (see arrive()).
///
/// Protocol: the barrier runs every party's continuation through that party's reply queue,
/// never inline, so the release reaches the task in its own actor's turn. The continuation
/// shares a link with the awaiter; an awaiter destroyed first (its task cancelled, its actor
/// stopped) clears it, and the release then resumes nothing. Read and cleared on the actor only.
class barrier_arrival {
public:
  /// An arrival at `b`; nothing happens before co_await.
  explicit barrier_arrival(barrier b) : barrier_(std::move(b)) {}
  /// Moves the barrier handle; only before co_await.
  barrier_arrival(barrier_arrival&& other) noexcept : barrier_(std::move(other.barrier_)) {}
  barrier_arrival& operator=(barrier_arrival&&) = delete;

  ~barrier_arrival() {
    if (link_)
      link_->target = nullptr;
  }

  /// Always suspends: even the last arrival continues through its actor's reply queue.
  [[nodiscard]] bool await_ready() const noexcept { return false; }

  /// Registers the task's actor as arrived.
  template <class Promise>
  void await_suspend(std::coroutine_handle<Promise> h) {
    link_ = std::make_shared<link>();
    link_->target = this;
    waiting_ = h;
    barrier_.arrive(h.promise().actor(), [l = link_](bool is_leader) {
      if (auto* t = std::exchange(l->target, nullptr)) {
        t->leader_ = is_leader;
        std::exchange(t->waiting_, {}).resume();
      }
    });
  }

  /// Whether this party was the leader of its generation (the last to arrive).
  bool await_resume() const noexcept { return leader_; }

private:
  struct link {
    barrier_arrival* target = nullptr; // actor only
  };

  barrier barrier_;
  std::shared_ptr<link> link_;
  std::coroutine_handle<> waiting_;
  bool leader_ = false;
};

/// Arrives at `b` and suspends the awaiting task until its generation is complete; yields true
/// for exactly one party of each generation, the leader (the last to arrive, as in Tokio's
/// Barrier::wait), false for the others. No worker blocks meanwhile, and the task resumes on
/// its own actor.
///
/// Example:
///
///   bool leader = co_await troupe::coro::arrive(phase_end);
///   if (leader) report();
///
/// Errors: none; a barrier does not fail. Cancellation: an arrival cannot be taken back. An
/// arrive() cancelled while waiting (a first_of it lost, its actor stopping) still counts for
/// its generation, which completes with the other parties' arrivals; the cancelled party just
/// resumes nothing (its lead, if it was the last, is lost with it).
///
/// Thread safety: co_await only inside a troupe::task.
[[nodiscard]] inline barrier_arrival arrive(barrier b) {
  return barrier_arrival{std::move(b)};
}

} // namespace troupe::coro
