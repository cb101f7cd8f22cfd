#include "troupe/introspection/trace.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <random>

namespace troupe {

namespace {

thread_local trace_id current = 0;

// A random start per process, so that ids from different nodes rarely collide; odd steps of a
// counter from there never give 0 twice in a row and never repeat within 2^64 ids.
std::atomic<trace_id>& next_trace() {
  static std::atomic<trace_id> next{[]() -> trace_id {
    try {
      std::random_device seed;
      return (static_cast<trace_id>(seed()) << 32) ^ seed();
    } catch (...) { // no entropy source: ids are still unique within the process
      return static_cast<trace_id>(std::chrono::steady_clock::now().time_since_epoch().count());
    }
  }()};
  return next;
}

} // namespace

trace_id current_trace() noexcept {
  return current;
}

trace_id new_trace() noexcept {
  for (;;) {
    auto id = next_trace().fetch_add(0x9e3779b97f4a7c15ULL, std::memory_order_relaxed);
    if (id != 0)
      return id;
  }
}

std::string format_trace(trace_id id) {
  if (id == 0)
    return {};
  char text[17];
  std::snprintf(text, sizeof(text), "%016llx", static_cast<unsigned long long>(id));
  return text;
}

trace_scope::trace_scope(trace_id id) noexcept : previous_(current) {
  current = id;
}

trace_scope::~trace_scope() {
  current = previous_;
}

} // namespace troupe
