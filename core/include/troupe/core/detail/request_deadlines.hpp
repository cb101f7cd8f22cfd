#pragma once

// The deadlines of one actor's timed requests, earliest first.
//
// A timed request used to arm its own CAF timer message. The clock held a strong reference to
// the actor until that message fired, answered or not: a requester that quit right after its
// reply stayed alive (with everything its handlers captured, other mailboxes' handles included)
// for the rest of the timeout, and every request paid for a clock entry, its lock and a wake of
// the clock thread. The actor now keeps its deadlines here, those of its CAF requests too (CAF's
// requester never cancels a timeout: every answered request left a clock entry and a late
// timeout message behind), and arms one CAF ordinary timeout for
// the earliest (CAF replaces it when re-armed and drops it when the actor terminates). An
// answered request leaves its entry behind; entries are skipped when they come due and compacted
// once they outnumber the requests still waiting.

#include <algorithm>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include <caf/actor_clock.hpp>
#include <caf/error.hpp>

namespace troupe::detail {

class request_deadlines {
public:
  using time_point = caf::actor_clock::time_point;

  struct entry {
    time_point due;
    // A Troupe request's id (request_table), or the response id of a CAF request.
    uint64_t id;
    caf::error reason;
    bool caf_request = false;
  };

  void add(time_point due, uint64_t id, caf::error reason, bool caf_request = false) {
    heap_.push_back(entry{due, id, std::move(reason), caf_request});
    std::push_heap(heap_.begin(), heap_.end(), later);
  }

  [[nodiscard]] bool empty() const noexcept { return heap_.empty(); }
  [[nodiscard]] std::size_t size() const noexcept { return heap_.size(); }
  [[nodiscard]] const entry& earliest() const noexcept { return heap_.front(); }

  void pop_earliest() {
    std::pop_heap(heap_.begin(), heap_.end(), later);
    heap_.pop_back();
  }

  /// Removes the entries due at `now` and returns them, earliest first.
  std::vector<entry> take_due(time_point now) {
    std::vector<entry> due;
    while (!heap_.empty() && heap_.front().due <= now) {
      std::pop_heap(heap_.begin(), heap_.end(), later);
      due.push_back(std::move(heap_.back()));
      heap_.pop_back();
    }
    return due;
  }

  /// Drops every entry for which `waiting(entry)` is false.
  template <class Waiting>
  void compact(Waiting waiting) {
    std::erase_if(heap_, [&](const entry& e) { return !waiting(e); });
    std::make_heap(heap_.begin(), heap_.end(), later);
  }

  /// Forgets every deadline and the armed timer, and frees the heap's memory (the actor
  /// ended: CAF drops its timer).
  void clear() noexcept {
    heap_ = {};
    armed.reset();
  }

  /// The due time of the clock timer armed for this actor, if one is.
  std::optional<time_point> armed;

private:
  // std::push_heap keeps a max-heap: "later" ordering puts the earliest deadline in front.
  static bool later(const entry& a, const entry& b) noexcept { return a.due > b.due; }

  std::vector<entry> heap_;
};

} // namespace troupe::detail
