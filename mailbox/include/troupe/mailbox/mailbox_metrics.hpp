#pragma once

#include <cstddef>

#include <nlohmann/json.hpp>

namespace troupe {

/// A snapshot of one mailbox. Counters only grow; depth is the current number of queued
/// messages. Under concurrency the fields are read one after the other, so they may be a
/// few messages apart; when the mailbox is quiet, enqueued == processed + depth + dropped_oldest
/// + dead-lettered ones.
struct mailbox_metrics {
  /// mailbox_options::capacity; 0: unbounded.
  std::size_t capacity = 0;
  /// Messages queued now.
  std::size_t depth = 0;
  /// The largest depth seen: sampled by the consumer before each message, and never below the
  /// current depth.
  std::size_t high_water = 0;
  /// Messages that entered the queue (a parked message once it does), including those
  /// drop_oldest evicted later.
  std::size_t enqueued = 0;
  /// Messages handed to a handler (counted just before it runs).
  std::size_t processed = 0;
  /// Discarded by drop_newest or drop_oldest.
  std::size_t dropped = 0;
  /// Refused with mailbox_full, send_timeout or closed and handed back to their senders.
  std::size_t rejected = 0;
  /// Actor messages waiting for room under backpressure.
  std::size_t parked = 0;
  /// Slots held now by permits (mailbox::try_reserve, reserve) and not yet sent through: they
  /// count against the capacity like queued messages but are not in depth. 0 when unbounded.
  std::size_t reserved = 0;
  /// Plain messages (not requests) that reached no handler: still queued or parked when the
  /// actor terminated, parked when the mailbox was closed, or sent after the actor terminated.
  /// Requests in the same situations fail instead.
  std::size_t dead_letters = 0;
};

void to_json(nlohmann::json& out, const mailbox_metrics& m);

} // namespace troupe
