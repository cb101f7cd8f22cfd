#pragma once

// A typed mailbox that answers increment{x} with x + 1: the counterpart of the requests in the
// actor core's tests.

#include <cstdint>

#include "troupe/troupe.hpp"

namespace troupe::test {

struct increment {
  int64_t x = 0;
  using reply_type = int64_t;
};

inline troupe::mailbox<increment> spawn_adder(troupe::runtime& rt) {
  return troupe::spawn_mailbox<increment>(rt, {},
                                          [](auto*) {
                                            return troupe::handlers{
                                                [](increment& m) { return m.x + 1; },
                                            };
                                          })
      .value();
}

} // namespace troupe::test
