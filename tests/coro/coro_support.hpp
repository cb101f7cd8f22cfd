#pragma once

// Shared pieces of the coroutine tests: a gate actor that answers requests only when released,
// a counter of live RAII objects, and a mailbox whose handlers are coroutines.

#include <atomic>
#include <cstdint>
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

} // namespace troupe::test
