#pragma once

// Collects a runtime's dead letters as they are reported, for tests that wait for one.

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <vector>

#include "troupe/runtime/dead_letter_office.hpp"

namespace troupe::test {

/// Collects the runtime's dead letters as they are reported (on whatever thread finds them).
/// Install with `rt->dead_letters()->set_hook([log](const dead_letter& d) { log->record(d); })`.
struct dead_letter_log {
  std::mutex mtx;
  std::condition_variable changed;
  std::vector<dead_letter> letters;

  void record(const dead_letter& d) {
    std::lock_guard guard{mtx};
    letters.push_back(d);
    changed.notify_all();
  }

  /// The first letter, once it arrived (or nullopt after 10 s).
  std::optional<dead_letter> first() {
    std::unique_lock guard{mtx};
    if (!changed.wait_for(guard, std::chrono::seconds{10}, [&] { return !letters.empty(); }))
      return std::nullopt;
    return letters.front();
  }
};

} // namespace troupe::test
