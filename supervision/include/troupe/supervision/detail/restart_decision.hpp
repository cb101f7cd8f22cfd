#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>

#include <caf/error.hpp>
#include <caf/exit_reason.hpp>

#include "troupe/supervision/child_spec.hpp"

namespace troupe::detail {

/// OTP's normal and shutdown exits: the child meant to stop.
[[nodiscard]] inline bool is_orderly_exit(const caf::error& reason) noexcept {
  return !reason || reason == caf::exit_reason::normal || reason == caf::exit_reason::user_shutdown;
}

/// Whether a child that terminated on its own with `reason` is restarted (OTP's do_restart):
/// permanent always, transient after an abnormal exit, temporary never.
[[nodiscard]] inline bool should_restart(restart_type restart, const caf::error& reason) noexcept {
  switch (restart) {
  case restart_type::permanent:
    return true;
  case restart_type::transient:
    return !is_orderly_exit(reason);
  case restart_type::temporary:
    return false;
  }
  return false;
}

/// The delay before the `consecutive`-th restart in a row (1-based); `unit_random` in [0, 1)
/// spreads it by the policy's jitter.
[[nodiscard]] inline std::chrono::milliseconds
backoff_delay(const backoff_policy& policy, uint32_t consecutive, double unit_random) noexcept {
  if (consecutive == 0)
    return std::chrono::milliseconds{0};
  auto base = static_cast<double>(policy.initial_delay.count()) *
              std::pow(policy.multiplier, static_cast<double>(consecutive - 1));
  base = std::min(base, static_cast<double>(policy.max_delay.count()));
  auto spread = 1.0 + policy.jitter * (2.0 * unit_random - 1.0);
  return std::chrono::milliseconds{static_cast<int64_t>(std::max(0.0, base * spread))};
}

} // namespace troupe::detail
