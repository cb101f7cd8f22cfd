#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include <caf/actor.hpp>

#include "troupe/supervision/child_spec.hpp"

namespace troupe {

/// Where a child is in its life, as its supervisor sees it.
enum class child_state {
  /// Its factory runs (the topology shows this while a restart or a run-time start is under
  /// way; which_children, answered by the supervisor itself, never does).
  starting,
  /// Started and not known to have terminated.
  running,
  /// Asked to stop; the supervisor waits for it (up to its shutdown deadline).
  stopping,
  /// Waiting for its restart (a backoff delay, or a retry after a failed start).
  restarting,
  /// Not running: stopped by terminate_child, ended normally (transient), or ignored its start.
  terminated,
};

[[nodiscard]] const char* to_string(child_state s) noexcept;

/// One row of supervisor::which_children().
struct child_info {
  /// The child's id (child_spec::id; for a dynamic child: the template's id and a number).
  std::string id;
  /// The running actor; invalid when the child does not run.
  caf::actor actor;
  /// Where the child is in its life.
  child_state state = child_state::terminated;
  /// Its child_spec::restart.
  restart_type restart = restart_type::permanent;
  /// How often this child was started again after its first start.
  uint64_t restarts = 0;
  /// Whether the child is itself a supervisor (child_spec::is_supervisor).
  bool is_supervisor = false;
};

/// supervisor::count_children(), as OTP's count_children/1.
struct child_counts {
  /// All entries, running or not.
  std::size_t specs = 0;
  /// Entries with a running actor.
  std::size_t active = 0;
  /// Entries that are child supervisors, running or not.
  std::size_t supervisors = 0;
  /// Entries that are plain workers (not supervisors), running or not.
  std::size_t workers = 0;
};

} // namespace troupe
