#pragma once

// An n-party barrier for actors, the actor form of Tokio's Barrier: each party calls arrive();
// when the n-th arrives, every party's continuation runs in its own context, exactly one of them
// told it is the leader. Nobody blocks a worker while waiting, and the barrier is reusable: the
// next n arrivals form the next generation.
//
// Example (inside a Troupe actor):
//
//   barrier.arrive(self, [=](bool is_leader) { if (is_leader) report(); next_phase(); });
//
// Thread safety: arrive() only from inside the arriving Troupe actor; generation() anywhere.

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include <caf/actor_cast.hpp>

#include "troupe/core/actor.hpp"

namespace troupe {

namespace detail {

/// Runs a barrier continuation on the arriving actor.
class barrier_release final : public reply_job {
public:
  barrier_release(caf::strong_actor_ptr keep_alive, std::function<void(bool)> k, bool leader)
      : reply_job(0), keep_alive_(std::move(keep_alive)), k_(std::move(k)), leader_(leader) {}
  void run() override { k_(leader_); }

private:
  caf::strong_actor_ptr keep_alive_;
  std::function<void(bool)> k_;
  bool leader_;
};

} // namespace detail

/// An n-party barrier for Troupe actors, the actor form of Tokio's Barrier: reusable, and no
/// worker blocks while a party waits. Copies share one barrier.
class barrier {
public:
  /// A barrier of `parties` arrivals per generation. A barrier of 0 parties behaves as one of 1
  /// (as Tokio's Barrier::new(0)): every arrive() completes a generation at once, its caller
  /// the leader; parties() then answers 1.
  explicit barrier(std::size_t parties) : state_(std::make_shared<state>(parties)) {}

  /// The arrivals that complete a generation (at least 1; see the constructor).
  [[nodiscard]] std::size_t parties() const noexcept { return state_->parties; }

  /// Generations completed so far.
  [[nodiscard]] uint64_t generation() const {
    std::lock_guard guard{state_->mtx};
    return state_->generation;
  }

  /// Registers `self`'s arrival. When this completes the generation, every party's `k` runs
  /// later in its own actor's context, with true for the last to arrive (the leader) only.
  /// `k` never runs inline, not even for the last arrival. Actor only; no worker blocks.
  template <class Self>
  void arrive(Self* self, std::function<void(bool is_leader)> k) const {
    auto* actor = static_cast<troupe::actor*>(self);
    std::vector<waiter> released;
    {
      std::lock_guard guard{state_->mtx};
      state_->waiting.push_back(
          waiter{actor, caf::actor_cast<caf::strong_actor_ptr>(actor), std::move(k)});
      if (state_->waiting.size() < state_->parties)
        return;
      released.swap(state_->waiting);
      ++state_->generation;
    }
    // The last to arrive leads, as in Tokio; everyone continues through its own reply queue.
    for (std::size_t i = 0; i < released.size(); ++i) {
      auto& w = released[i];
      w.actor->post_reply(std::make_unique<detail::barrier_release>(
          std::move(w.keep_alive), std::move(w.k), i + 1 == released.size()));
    }
  }

private:
  struct waiter {
    troupe::actor* actor;
    caf::strong_actor_ptr keep_alive;
    std::function<void(bool)> k;
  };

  struct state {
    explicit state(std::size_t n) : parties(n == 0 ? 1 : n) {}
    std::size_t parties;
    mutable std::mutex mtx;
    std::vector<waiter> waiting;
    uint64_t generation = 0;
  };

  std::shared_ptr<state> state_;
};

} // namespace troupe
