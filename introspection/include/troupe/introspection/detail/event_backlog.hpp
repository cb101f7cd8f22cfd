#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>

#include "troupe/introspection/event.hpp"

namespace troupe::detail {

/// The latest events of a runtime, kept for the admin endpoint's `GET /events` (a server-sent
/// event stream the viewer follows). Each answer sends the events after the reader's last one and
/// ends, and the browser's EventSource reconnects after `retry` with its Last-Event-ID: the
/// stream never holds one of the endpoint's few worker threads, however many pages follow it.
/// Events are serialized once, when they happen; a reader that fell more than `capacity` events
/// behind is told how many it missed.
///
/// Thread safety: any thread.
class event_backlog {
public:
  explicit event_backlog(std::size_t capacity = 256) : capacity_(capacity) {}

  /// Keeps `e` (as its JSON text), dropping the oldest kept event when full.
  void add(const event& e);

  /// The events after sequence number `after` in the text/event-stream format, each with its
  /// sequence number as id; first a `retry:` field, and a comment line when some were dropped.
  [[nodiscard]] std::string server_sent_events(std::uint64_t after,
                                               std::chrono::milliseconds retry) const;

private:
  struct kept {
    std::uint64_t sequence;
    std::string json;
  };

  std::size_t capacity_;
  mutable std::mutex mtx_;
  std::deque<kept> events_;        // guarded by mtx_, in sequence order
  std::uint64_t last_dropped_ = 0; // guarded by mtx_: the newest event dropped for room
};

} // namespace troupe::detail
