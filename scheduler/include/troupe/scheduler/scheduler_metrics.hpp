#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor_addr.hpp>
#include <nlohmann/json.hpp>

namespace troupe {

/// What one scheduler worker has done since it started (Troupe's policy only).
struct worker_metrics {
  /// The worker's index, from 0. In scheduler_metrics::total: the number of workers.
  std::size_t id = 0;
  /// Times the worker resumed a job (usually an actor).
  uint64_t resumes = 0;
  /// Resumes of a job from the LIFO slot (an actor woken by the previous one).
  uint64_t lifo_runs = 0;
  /// Tries to steal from another worker whose queue looked non-empty.
  uint64_t steal_attempts = 0;
  /// Of those, the tries that got a job.
  uint64_t steals = 0;
  /// Times the worker went to sleep for lack of work.
  uint64_t parks = 0;
  /// Times it woke up again.
  uint64_t unparks = 0;
  /// Total time spent parked.
  std::chrono::milliseconds parked{0};
  /// Time not parked (running jobs or looking for work).
  std::chrono::milliseconds active{0};
  /// Jobs in the worker's own queue at the time of the snapshot (approximate while it runs).
  std::size_t local_queue_depth = 0;
  /// Running a job right now.
  bool busy = false;
  /// Parked, waiting for work.
  bool sleeping = false;
};

/// The scheduler as a whole. `policy` is "troupe", "caf_stealing" or "caf_sharing"; the
/// per-worker figures exist for "troupe" only.
struct scheduler_metrics {
  /// The scheduler policy's name (to_string(scheduler_policy)).
  std::string policy;
  /// Worker threads of the scheduler.
  std::size_t workers = 0;
  /// One entry per worker, by id; empty for CAF's policies.
  std::vector<worker_metrics> per_worker;
  /// The counters and durations of per_worker, summed; `busy` and `sleeping` stay false.
  worker_metrics total;
  /// Jobs waiting in the shared queue for work from outside the workers (other threads,
  /// timers, full local queues); 0 for CAF's policies.
  std::size_t injection_queue_depth = 0;
  /// Handlers that held a worker longer than the blocked-worker threshold.
  uint64_t blocked_reports = 0;
};

/// Reported by the blocked-worker watchdog: an actor's handler held a worker too long.
struct blocked_worker_report {
  /// The blocked worker's index.
  std::size_t worker = 0;
  /// The actor whose handler holds the worker; 0 when the job is not an actor.
  caf::actor_id actor = 0;
  /// That actor's name (CAF's name()); empty when unknown.
  std::string actor_name;
  /// How long the handler had held the worker, as far as the watchdog saw (at least
  /// runtime_config::blocked_threshold).
  std::chrono::milliseconds held_for{0};
};

void to_json(nlohmann::json& out, const worker_metrics& m);
void to_json(nlohmann::json& out, const scheduler_metrics& m);

} // namespace troupe
