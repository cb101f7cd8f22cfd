#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include <caf/error.hpp>

#include "troupe/mailbox/overflow_policy.hpp"

namespace troupe {

/// How a typed mailbox queues its messages.
///
/// Example:
///
///   troupe::mailbox_options opts;
///   opts.capacity = 1024;                          // 0: unbounded
///   opts.overflow = troupe::overflow_policy::fail;
///   opts.name = "ingest";
struct mailbox_options {
  /// Messages the mailbox holds at most; 0 means unbounded.
  std::size_t capacity = 0;
  /// What a full mailbox does with one more message. Default: backpressure, the only policy
  /// valid with capacity 0.
  overflow_policy overflow = overflow_policy::backpressure;
  /// Messages handled per scheduling of the actor before it yields its worker; 0 takes the
  /// runtime's max_throughput.
  std::size_t batch = 0;
  /// How long a thread (not an actor) blocks in send() under backpressure.
  std::chrono::milliseconds send_timeout{std::chrono::seconds{30}};
  /// Shown in metrics, dead letters and the topology.
  std::string name;

  /// Errors: config_errc::out_of_range naming `capacity` for an overflow policy other than
  /// backpressure with capacity 0 (drop_newest, drop_oldest and fail only mean something for
  /// a bounded mailbox), or naming `send_timeout` when it is negative.
  [[nodiscard]] caf::error validate() const;
};

} // namespace troupe
