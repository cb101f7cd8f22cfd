#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include <caf/error.hpp>

#include "troupe/mailbox/overflow_policy.hpp"

namespace troupe {

/// Which worker runs a job.
enum class dispatch_policy {
  /// One shared queue; an idle worker takes the next job, so a slow job never holds others back
  /// while a worker is idle. The default.
  balanced,
  /// Jobs go to the workers in turn, each into the worker's own queue.
  round_robin,
  /// Jobs with the same key go to the same worker's queue and run in submit order.
  key_affinity,
};

[[nodiscard]] const char* to_string(dispatch_policy p) noexcept;

/// A worker pool's shape.
struct pool_options {
  /// Names the pool in the topology and its metrics: its supervisor is `name`, its workers
  /// `name.worker0`, `name.worker1`, ... Empty: "pool" (spawn_pool) or the child's id
  /// (pool_child).
  std::string name;
  /// Workers at start (1..256); resize() changes it later.
  std::size_t workers = 2;
  /// Jobs that may wait in the pool's queues (>= 1). Running jobs do not count.
  std::size_t capacity = 1024;
  /// What a submit does when the queues are full: backpressure (a thread waits for room, an
  /// actor gets mailbox_full), fail (mailbox_full), drop_newest (the new job is answered with
  /// mailbox_full and counted), drop_oldest (the oldest waiting job is, and the new one queued).
  overflow_policy overflow = overflow_policy::backpressure;
  /// Which worker runs a job. Default: balanced.
  dispatch_policy dispatch = dispatch_policy::balanced;
  /// How often a job whose worker crashed on it is run again (on a restarted or another
  /// worker) before it is answered with the crash's reason. 0: never retried.
  std::size_t max_retries = 0;
  /// Restart intensity of the pool's supervisor: at most this many worker crashes per period.
  std::size_t max_restarts = 100;
  /// The period of max_restarts. Default 1 s.
  std::chrono::milliseconds restart_period{1000};
  /// Jobs run on the runtime's blocking pool rather than on scheduler workers, for jobs that
  /// block or burn CPU; a pool worker then waits for its job without holding a scheduler worker.
  /// Not for coroutine handlers (they run on their worker and await coro::spawn_blocking).
  bool run_on_blocking_pool = false;

  /// Names the offending field (config_errc::out_of_range).
  [[nodiscard]] caf::error validate() const;

  /// The largest `workers` value (also for resize()).
  static constexpr std::size_t max_workers = 256;
};

} // namespace troupe
