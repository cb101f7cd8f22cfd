#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include <caf/error.hpp>

#include "troupe/supervision/child_spec.hpp"

namespace troupe {

/// Which children a supervisor restarts when one of them has to be restarted (Erlang/OTP).
enum class restart_strategy {
  /// Only the child that terminated.
  one_for_one,
  /// All children: the others are stopped in reverse start order, then all start in order.
  one_for_all,
  /// The child and the ones started after it: those are stopped in reverse order, then the
  /// child and they start again in order.
  rest_for_one,
  /// Children are added at run time from one template (supervisor::start_child(args)); each
  /// restarts on its own, as with one_for_one. OTP's simple_one_for_one.
  dynamic,
};

[[nodiscard]] const char* to_string(restart_strategy s) noexcept;

/// A supervisor: how it restarts, how often it may, and its children in start order. Left
/// unset, the limit is OTP's default: intensity 1 within a period of 5 s, so a second restart
/// within 5 s makes the supervisor give up (it exits with user_shutdown, OTP's `shutdown`). Set
/// both for children that may crash more often.
///
/// Example:
///
///   troupe::supervisor_spec spec{
///       .name = "service",
///       .strategy = troupe::restart_strategy::one_for_one,
///       .intensity = 3,
///       .period = std::chrono::seconds{5},
///       .children = {db, cache, api},
///   };
struct supervisor_spec {
  /// The supervisor actor's name (in errors, the topology and shutdown reports).
  std::string name = "supervisor";
  /// Which children restart with a failed one. Default: one_for_one.
  restart_strategy strategy = restart_strategy::one_for_one;
  /// At most this many restarts within `period`; one more and the supervisor stops its
  /// children and exits with caf::exit_reason::user_shutdown (OTP's `shutdown`; the context
  /// says "restart_intensity_exceeded"), so a transient parent leaves it stopped.
  std::size_t intensity = 1;
  /// The window `intensity` counts restarts in. Default 5 s; must be positive.
  std::chrono::milliseconds period{5000};
  /// In start order. A dynamic supervisor has exactly one: the template of its children.
  std::vector<child_spec> children;
  /// OTP's init/1: runs first in start_supervisor (for a nested supervisor: at every start
  /// and restart, on its parent), on a copy of this spec that it may change (children from
  /// configuration, say). It returns none to start, make_error(supervision_errc::ignored) to
  /// decline (start_supervisor returns that error; a nested supervisor is then an ignored
  /// child), or any other error to fail the start with it. Empty: start as given.
  ///
  ///   spec.init = [cfg](troupe::supervisor_spec& s) -> caf::error {
  ///     if (!cfg.enabled) return troupe::make_error(troupe::supervision_errc::ignored);
  ///     s.children = children_from(cfg);
  ///     return caf::none;
  ///   };
  std::function<caf::error(supervisor_spec&)> init;

  /// Checks ids, factories, durations and the strategy's needs; names the offending field.
  [[nodiscard]] caf::error validate() const;
};

} // namespace troupe
