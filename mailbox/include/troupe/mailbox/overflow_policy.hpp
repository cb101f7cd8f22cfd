#pragma once

namespace troupe {

/// What a bounded mailbox does with a message that arrives when it is full.
/// Every message a policy discards is counted in mailbox_metrics::dropped.
enum class overflow_policy {
  /// The sender waits for room: a thread blocks up to its deadline; an actor never blocks its
  /// worker, its message is parked and enqueued, in order, when room frees.
  backpressure,
  /// The arriving message is discarded.
  drop_newest,
  /// The oldest queued message is discarded to make room for the arriving one.
  drop_oldest,
  /// The send fails with mailbox_errc::mailbox_full and hands the message back.
  fail,
};

[[nodiscard]] constexpr const char* to_string(overflow_policy p) noexcept {
  switch (p) {
  case overflow_policy::backpressure:
    return "backpressure";
  case overflow_policy::drop_newest:
    return "drop_newest";
  case overflow_policy::drop_oldest:
    return "drop_oldest";
  case overflow_policy::fail:
    return "fail";
  }
  return "unknown";
}

} // namespace troupe
