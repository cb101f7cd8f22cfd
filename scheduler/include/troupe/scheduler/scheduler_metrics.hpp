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
  std::size_t id = 0;
  uint64_t resumes = 0;
  /// Resumes of a job from the LIFO slot (an actor woken by the previous one).
  uint64_t lifo_runs = 0;
  uint64_t steal_attempts = 0;
  uint64_t steals = 0;
  uint64_t parks = 0;
  uint64_t unparks = 0;
  std::chrono::milliseconds parked{0};
  /// Time not parked (running jobs or looking for work).
  std::chrono::milliseconds active{0};
  std::size_t local_queue_depth = 0;
  /// Running a job right now.
  bool busy = false;
  /// Parked, waiting for work.
  bool sleeping = false;
};

/// The scheduler as a whole. `policy` is "troupe", "caf_stealing" or "caf_sharing"; the
/// per-worker figures exist for "troupe" only.
struct scheduler_metrics {
  std::string policy;
  std::size_t workers = 0;
  std::vector<worker_metrics> per_worker;
  worker_metrics total;
  std::size_t injection_queue_depth = 0;
  /// Handlers that held a worker longer than the blocked-worker threshold.
  uint64_t blocked_reports = 0;
};

/// Reported by the blocked-worker watchdog: an actor's handler held a worker too long.
struct blocked_worker_report {
  std::size_t worker = 0;
  caf::actor_id actor = 0;
  std::string actor_name;
  std::chrono::milliseconds held_for{0};
};

void to_json(nlohmann::json& out, const worker_metrics& m);
void to_json(nlohmann::json& out, const scheduler_metrics& m);

} // namespace troupe
