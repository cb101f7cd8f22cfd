#pragma once

#include <cstdint>

#include <caf/atom.hpp>
#include <caf/error.hpp>

namespace troupe {

/// Errors of supervisors: rejected specs, failed starts, run-time child operations, and the
/// exit reason of a supervisor that gave up.
///
///   if (err == troupe::supervision_errc::start_failed) { ... }   // render(err) names the child
enum class supervision_errc : uint8_t {
  /// The supervisor spec does not validate (empty or duplicate id, no factory, a dynamic
  /// supervisor without exactly one template, negative durations). Context: field, detail.
  invalid_spec = 1,
  /// A child did not start: its factory threw or returned an error. Context: child id, reason.
  start_failed,
  /// More than `intensity` restarts within `period`: the supervisor stopped its children and
  /// exited with this reason, which its own supervisor sees. Context: child id, last reason.
  restart_intensity_exceeded,
  /// No child with that id (or actor) is known. Context: the id.
  child_not_found,
  /// The operation needs a child that is not running (restart_child, delete_child).
  child_running,
  /// A child with that id exists already (start_child with a spec).
  already_present,
  /// The operation does not apply to this supervisor's strategy, e.g. starting a child from
  /// arguments under one_for_one. Context: the operation.
  not_supported,
  /// The supervisor is stopping and takes no more commands.
  shutting_down,
};

inline constexpr caf::atom_value supervision_error_category = caf::atom("tr_superv");

[[nodiscard]] caf::error make_error(supervision_errc code);
[[nodiscard]] const char* to_string(supervision_errc code) noexcept;

} // namespace troupe
