#pragma once

#include <cstdint>

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/error.hpp>

namespace troupe {

/// Errors of supervisors: rejected specs, failed starts and run-time child operations. (A
/// supervisor that gives up exits with caf::exit_reason::user_shutdown, OTP's `shutdown`.)
///
///   if (err == troupe::supervision_errc::start_failed) { ... }   // render(err) names the child
enum class supervision_errc : uint8_t {
  /// The supervisor spec does not validate (empty or duplicate id, no factory, a dynamic
  /// supervisor without exactly one template, negative durations). Context: field, detail.
  invalid_spec = 1,
  /// A child did not start: its factory threw or returned an error. Context: child id, the
  /// reason as text, and the factory's own error (empty for an exception); see
  /// start_failure_reason().
  start_failed,
  /// No child with that id (or actor) is known. Context: the id.
  child_not_found,
  /// The operation needs a child that is not running (restart_child, remove_child, or
  /// start_child by id). OTP's `running`.
  child_running,
  /// A child with that id exists and does not run (add_child). OTP's `already_present`.
  already_present,
  /// The operation does not apply to this supervisor's strategy, e.g. starting a child from
  /// arguments under one_for_one. Context: the operation.
  not_supported,
  /// The supervisor is stopping and takes no more commands.
  shutting_down,
  /// A child with that id runs already (add_child). Context: the id, the running caf::actor
  /// (see already_started_actor()). OTP's `{already_started, Pid}`.
  already_started,
  /// The child waits for a restart (a backoff or a failed start being retried):
  /// restart_child and remove_child refuse it. OTP's `restarting`.
  restarting,
  /// The supervisor's init declined to start it (OTP's `ignore`). A nested supervisor that
  /// declines is an ignored child of its parent.
  ignored,
};

inline constexpr caf::atom_value supervision_error_category = caf::atom("tr_superv");

[[nodiscard]] caf::error make_error(supervision_errc code);
[[nodiscard]] const char* to_string(supervision_errc code) noexcept;

/// The factory's own error inside a start_failed error (e.g. a mailbox_errc or a nested
/// supervisor's start_failed); an empty error when the factory threw, or for other errors.
///
///   auto child = sup.start_child(args);
///   if (!child && troupe::start_failure_reason(child.error()) == my_errc::no_database) ...
[[nodiscard]] caf::error start_failure_reason(const caf::error& err);

/// The running child inside an already_started error; an invalid handle for other errors.
[[nodiscard]] caf::actor already_started_actor(const caf::error& err);

} // namespace troupe
