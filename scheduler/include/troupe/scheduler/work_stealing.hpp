#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include <caf/fwd.hpp>

#include "troupe/scheduler/io_driver.hpp"
#include "troupe/scheduler/scheduler_metrics.hpp"

namespace troupe::detail {
class watchdog;
} // namespace troupe::detail

/// Troupe's work-stealing scheduler as the layers above see it: CAF's coordinator running
/// Troupe's policy (per-worker LIFO slot, local queues, stealing, parking), installed into an
/// actor system's configuration, read for figures, and watched for blocked workers. The policy
/// itself stays internal (detail/troupe_policy.hpp).
///
///   caf::actor_system_config cfg;
///   troupe::work_stealing::install(cfg);
///   caf::actor_system sys{cfg};
///   troupe::scheduler_metrics m;
///   troupe::work_stealing::collect(sys, m);   // per-worker resumes, steals, parks, ...
namespace troupe::work_stealing {

/// Makes the actor system built from `cfg` run Troupe's scheduler instead of CAF's.
void install(caf::actor_system_config& cfg);

/// True when `sys` runs Troupe's scheduler (install() was called on its configuration).
[[nodiscard]] bool runs_in(caf::actor_system& sys) noexcept;

/// Clears the calling thread's current CAF logger when the installed CAF logs nothing
/// (CAF_LOG_LEVEL_QUIET); a no-op with a CAF that logs. Call it after spawning through
/// caf::actor_system::spawn, which makes the system's logger the spawning thread's current one:
/// from then on CAF's own code records the running actor's id for that logger around every
/// resume and every actor's destruction (thread-local lookups and a process-wide spinlock),
/// although it never logs. troupe::runtime's spawns call it.
/// Thread safety: any thread; it touches only the calling thread's state.
void forget_thread_logger() noexcept;

/// Lets the idle workers of the scheduler of `sys` run `driver` (io_driver.hpp): a worker with
/// nothing to do waits in it, one at a time. `driver` must stay valid until detach_io() returns.
/// False when `sys` runs one of CAF's schedulers or a driver is attached already.
/// Thread safety: any thread; once the scheduler runs (e.g. from a module's start()).
bool attach_io(caf::actor_system& sys, io_driver& driver);

/// Stops the workers of `sys` from running the attached driver; when it returns, none runs it
/// and none will. A no-op when none is attached.
void detach_io(caf::actor_system& sys);

/// Fills the per-worker figures, their total and the injection queue's depth of `m` from the
/// scheduler of `sys`; leaves `m` alone and returns false when `sys` runs one of CAF's.
bool collect(caf::actor_system& sys, scheduler_metrics& m);

/// Watches the workers of one actor system for a handler that holds a worker longer than a
/// threshold (the guide's "blocking in async code" pitfall, caught at run time): each such
/// handler is reported once, counted, logged to stderr and handed to the report callbacks.
/// Every sampling period it also moves the work that waits behind a busy worker to the others.
///
/// Thread safety: set_hook() and reports() may be called from any thread; the callbacks run on
/// the watchdog's own thread.
class blocked_worker_watchdog {
public:
  /// Receives each report.
  using report_callback = std::function<void(const blocked_worker_report&)>;

  /// Starts watching `sys`; nullptr when `sys` does not run Troupe's scheduler. `threshold` 0
  /// reports nothing (the waiting work still moves). `on_report` (may be empty) is the owner's
  /// callback, e.g. to publish an event; a user's hook is set with set_hook().
  static std::unique_ptr<blocked_worker_watchdog>
  start(caf::actor_system& sys, std::chrono::milliseconds threshold, report_callback on_report);

  blocked_worker_watchdog(const blocked_worker_watchdog&) = delete;
  blocked_worker_watchdog& operator=(const blocked_worker_watchdog&) = delete;
  /// Stops the watchdog's thread; no callback runs after it returns.
  ~blocked_worker_watchdog();

  /// Replaces the user's hook, called after the owner's callback for each report.
  void set_hook(report_callback hook);

  /// How many reports were made.
  [[nodiscard]] uint64_t reports() const noexcept;

private:
  explicit blocked_worker_watchdog(std::unique_ptr<detail::watchdog> impl);
  std::unique_ptr<detail::watchdog> impl_;
};

} // namespace troupe::work_stealing
