#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace troupe {

/// A worker pool's figures at one moment (each read on its own, so they are only roughly
/// consistent with each other while jobs run).
struct pool_metrics {
  /// The pool's name (pool_options::name).
  std::string name;
  /// Jobs the queues may hold (pool_options::capacity).
  std::size_t capacity = 0;
  /// Jobs waiting in the queues.
  std::size_t queue_depth = 0;
  /// Jobs of actors waiting for room under backpressure (not yet in the queues).
  std::size_t parked = 0;
  /// Worker slots in use now (pool_options::workers, or the last resize()).
  std::size_t workers = 0;
  /// Per worker slot: 1 while it runs a job.
  std::vector<uint32_t> in_flight;
  /// Jobs answered with their result (a posted job: its handler returned a value).
  uint64_t completed = 0;
  /// Jobs answered with an error after their worker crashed on them (retries exhausted), and
  /// posted jobs that failed (a crash with no retries left, or an error result).
  uint64_t failed = 0;
  /// Runs of a job again after a crash.
  uint64_t retried = 0;
  /// Worker restarts after crashes.
  uint64_t restarts = 0;
  /// Submits refused: full (fail / backpressure timeout) or shutting down.
  uint64_t rejected = 0;
  /// Jobs discarded by a drop policy (answered with mailbox_full).
  uint64_t dropped = 0;
  /// Jobs answered with cancelled because the pool stopped before running them.
  uint64_t cancelled = 0;
  /// Queue-to-answer latency of sampled jobs (one in 16), in microseconds.
  double latency_p50_us = 0;
  /// The 99th percentile of the same latency, in microseconds. Both percentiles are bucket
  /// bounds of a histogram (within about 19%); 0 before the first sample.
  double latency_p99_us = 0;
};

void to_json(nlohmann::json& out, const pool_metrics& m);

} // namespace troupe
