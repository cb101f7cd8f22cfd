#pragma once

// The event kinds the supervision component emits (see troupe::event and docs/events.md). The
// subject (event::actor) is the child's actor, 0 when it does not run; event::name is
// "<supervisor name>/<child id>" (the pool's name for pool events).

#include <string_view>

namespace troupe::event_kinds {

/// A supervisor started a child, not as a restart: at its own start, or by add_child,
/// start_child. Level info. Fields: "supervisor", "child", "restart" (permanent, transient,
/// temporary).
inline constexpr std::string_view child_started{"supervisor.child_started"};

/// A supervisor started a child again after it (or, with one_for_all and rest_for_one, a
/// sibling) ended. Level warning. Fields: "supervisor", "child", "reason" (how the previous
/// incarnation ended), "restarts" (the child's restarts so far), "restarts_in_window",
/// "intensity" and "period_ms" (the intensity window).
inline constexpr std::string_view child_restarted{"supervisor.child_restarted"};

/// A child's start failed. Level warning when it is retried (a restart), error when not (the
/// start was asked for by a command or by start_supervisor). Fields: "supervisor", "child",
/// "reason", "will_retry".
inline constexpr std::string_view child_start_failed{"supervisor.start_failed"};

/// A supervisor gave up: one restart too many within its intensity window. It stops its
/// children and ends with user_shutdown (OTP's `shutdown`, context "restart_intensity_exceeded"),
/// which its own supervisor sees (escalation: a permanent parent restarts it, a transient one
/// leaves it stopped). Level error. Fields: "supervisor", "child" (the child whose restart was one
/// too many), "reason" (that child's), "intensity", "period_ms".
inline constexpr std::string_view supervisor_gave_up{"supervisor.gave_up"};

/// A worker pool runs a job again after it failed (pool_options' retries). Level notice.
/// Fields: "pool", "attempt" (the attempt that failed, from 1), "reason".
inline constexpr std::string_view pool_job_retried{"pool.job_retried"};

/// A worker pool cancelled a job before or while it ran (its token, the pool's stop, a
/// deadline). Level notice. Fields: "pool", "reason".
inline constexpr std::string_view pool_job_cancelled{"pool.job_cancelled"};

/// A job posted to a worker pool (worker_pool::post: nobody waits for its answer) failed: its
/// handler returned an error, or crashed on it with no retries left. Level warning. Fields:
/// "pool", "attempts" (runs of the job, from 1), "reason".
inline constexpr std::string_view pool_job_failed{"pool.job_failed"};

} // namespace troupe::event_kinds
