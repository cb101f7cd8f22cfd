#pragma once

// The continuations of one actor's requests still waiting for their replies, by request id.
//
// Most actors never make a request (a typed mailbox that only answers, a pool worker), and an
// empty std::unordered_map is 56 bytes in every actor. The map and the id count are made by the
// first request and kept until the actor ends: an actor that requested once is likely to
// request again.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_map>

#include "troupe/core/continuation.hpp"
#include "troupe/core/detail/request_deadlines.hpp"

namespace troupe::detail {

class request_table {
public:
  /// Registers the continuation of a new request; returns its id (1, 2, 3, ... for the life of
  /// the actor: never one a reply still on its way could match).
  uint64_t add(std::unique_ptr<continuation> k) {
    auto& st = made();
    auto id = ++st.last_id;
    st.waiting.emplace(id, std::move(k));
    return id;
  }

  /// Removes and returns request `id`'s continuation; null when it is not waiting (answered,
  /// failed or never made).
  std::unique_ptr<continuation> take(uint64_t id) {
    if (!state_)
      return nullptr;
    auto i = state_->waiting.find(id);
    if (i == state_->waiting.end())
      return nullptr;
    auto k = std::move(i->second);
    state_->waiting.erase(i);
    return k;
  }

  /// Whether request `id` still waits.
  [[nodiscard]] bool contains(uint64_t id) const {
    return state_ && state_->waiting.count(id) != 0;
  }

  /// How many requests wait.
  [[nodiscard]] std::size_t size() const noexcept { return state_ ? state_->waiting.size() : 0; }

  /// The deadlines of timed requests (made with the table).
  request_deadlines& deadlines() { return made().deadlines; }

  /// The deadlines, or null before the first request.
  request_deadlines* deadlines_if_made() noexcept { return state_ ? &state_->deadlines : nullptr; }

  /// Forgets every waiting request (their continuations are destroyed, not run) and their
  /// deadlines. The id count goes on.
  void clear() noexcept {
    if (!state_)
      return;
    {
      // Moved out first: a continuation's destructor may look at the table, and then finds it
      // empty rather than half destroyed.
      auto gone = std::move(state_->waiting);
      state_->waiting = decltype(state::waiting){}; // frees the moved-from map's buckets
    }
    // After the continuations: a deadline one of their destructors set goes too.
    state_->deadlines.clear();
  }

private:
  // The map, the last id given and the deadlines, made by the first request: the id count and
  // the deadlines' pointer were 16 bytes of every actor, most of which never request.
  struct state {
    std::unordered_map<uint64_t, std::unique_ptr<continuation>> waiting;
    uint64_t last_id = 0;
    request_deadlines deadlines;
  };
  std::unique_ptr<state> state_;

  state& made() {
    if (!state_)
      state_ = std::make_unique<state>();
    return *state_;
  }
};

} // namespace troupe::detail
