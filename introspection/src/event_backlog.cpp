#include "troupe/introspection/detail/event_backlog.hpp"

#include <algorithm>

namespace troupe::detail {

void event_backlog::add(const event& e) {
  auto json = to_json(e).dump();
  std::lock_guard guard{mtx_};
  // The stream calls its sinks one at a time in sequence order: appending keeps the order.
  events_.push_back(kept{e.sequence, std::move(json)});
  if (events_.size() > capacity_) {
    last_dropped_ = events_.front().sequence;
    events_.pop_front();
  }
}

std::string event_backlog::server_sent_events(std::uint64_t after,
                                              std::chrono::milliseconds retry) const {
  std::string out = "retry: " + std::to_string(retry.count()) + "\n\n";
  std::lock_guard guard{mtx_};
  auto first = std::upper_bound(events_.begin(), events_.end(), after,
                                [](std::uint64_t seq, const kept& k) { return seq < k.sequence; });
  // Sequence numbers skip the events of levels the backlog does not keep, so a gap alone means
  // nothing; only events dropped for room that the reader had not seen are worth a word.
  if (after != 0 && after < last_dropped_)
    out += ": events after " + std::to_string(after) + " up to " + std::to_string(last_dropped_) +
           " were dropped from the backlog\n\n";
  for (auto it = first; it != events_.end(); ++it) {
    out += "id: " + std::to_string(it->sequence) + "\n";
    out += "data: " + it->json + "\n\n";
  }
  return out;
}

} // namespace troupe::detail
