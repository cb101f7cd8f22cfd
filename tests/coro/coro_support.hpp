#pragma once

// Shared pieces of the coroutine tests: a gate actor that answers requests only when released,
// a counter of live RAII objects, and a probe of where and when an actor's code runs.

#include <atomic>
#include <cstdint>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include <caf/all.hpp>

#include "troupe/troupe.hpp"

namespace troupe::test {

using release_atom = caf::atom_constant<caf::atom("release")>;

struct gate_state {
  std::vector<caf::response_promise> waiting;
  std::vector<int> values;
  bool released = false;
};

/// A plain CAF actor answering `int x` requests with x, but only once released (requests
/// after the release are answered at once): lets a test keep a coroutine suspended for as
/// long as it likes, without timing.
inline caf::behavior gate_actor(caf::stateful_actor<gate_state>* self) {
  return {
      [self](int x) -> caf::result<int> {
        if (self->state.released)
          return x;
        auto rp = self->make_response_promise();
        self->state.waiting.push_back(rp);
        // The value travels with the promise: answered on release.
        self->state.values.push_back(x);
        return caf::delegated<int>{};
      },
      [self](release_atom) {
        self->state.released = true;
        for (std::size_t i = 0; i < self->state.waiting.size(); ++i)
          self->state.waiting[i].deliver(self->state.values[i]);
        self->state.waiting.clear();
        self->state.values.clear();
      },
  };
}

/// Counts constructions and destructions: the RAII probe of a coroutine frame.
struct live_counter {
  std::atomic<int> made{0};
  std::atomic<int> gone{0};
};

class probe {
public:
  explicit probe(live_counter& c) : c_(&c) { c_->made.fetch_add(1); }
  probe(const probe&) = delete;
  probe& operator=(const probe&) = delete;
  ~probe() { c_->gone.fetch_add(1); }

private:
  live_counter* c_;
};

// Every segment of a handler (plain, or a coroutine between two co_awaits) marks the actor
// busy; two overlapping segments, or a resumption on a foreign thread, count as violations.
struct affinity_probe {
  std::atomic<bool> busy{false};
  std::atomic<int> overlaps{0};
  std::mutex mtx;
  std::set<std::thread::id> handler_threads;
  std::set<std::thread::id> resume_threads;
  std::set<std::thread::id> foreign_threads; // the blocking pool's, the test's

  void enter(bool resumed) {
    if (busy.exchange(true))
      overlaps.fetch_add(1);
    std::lock_guard guard{mtx};
    (resumed ? resume_threads : handler_threads).insert(std::this_thread::get_id());
  }
  void leave() { busy.store(false); }
  void foreign() {
    std::lock_guard guard{mtx};
    foreign_threads.insert(std::this_thread::get_id());
  }
};

} // namespace troupe::test
