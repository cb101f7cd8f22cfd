#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include <caf/actor.hpp>
#include <caf/error.hpp>
#include <caf/message.hpp>

#include "troupe/supervision/cancellation_token.hpp"
#include "troupe/supervision/child_info.hpp"
#include "troupe/supervision/child_spec.hpp"

namespace troupe {
class runtime;
} // namespace troupe

namespace troupe::detail {

/// A supervisor's bookkeeping for one child.
struct child_record {
  child_spec spec;
  caf::actor actor;
  /// The id of its last incarnation once that ended (0 before): a dynamic supervisor's
  /// stop_child names a child waiting for its restart by it, as OTP's restarting(Pid).
  caf::actor_id previous_actor = 0;
  child_state state = child_state::terminated;
  uint64_t restarts = 0;
  /// Counts starts, so that a late event about an earlier incarnation is recognised as such.
  uint64_t generation = 0;
  /// Unique within the supervisor; timers and deferred decisions refer to a child by it.
  uint64_t serial = 0;
  cancellation_token token;
  uint32_t consecutive_failures = 0;
  std::chrono::steady_clock::time_point started_at;
  caf::message args;
  /// How its last incarnation ended (an empty error: normally), for the topology; none before
  /// the first end.
  std::optional<caf::error> last_exit;
  /// Its next start is a restart (decided after an exit, its own or a sibling's): the start
  /// is then published as supervisor.child_restarted rather than child_started.
  bool restart_pending = false;

  [[nodiscard]] child_info info() const {
    return child_info{spec.id, actor, state, spec.restart, restarts, spec.is_supervisor};
  }
};

/// Runs the child's factory with a fresh token; on success the record is running (and marked
/// supervised in the runtime) and `info` (if given) holds the factory's extra information.
/// Errors: supervision_errc::start_failed naming the child, with the factory's own error.
/// The caller monitors the actor.
[[nodiscard]] caf::error start_child_record(runtime& rt, child_record& rec,
                                            caf::message* info = nullptr);

} // namespace troupe::detail
