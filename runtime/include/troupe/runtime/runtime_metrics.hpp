#pragma once

#include <chrono>
#include <cstddef>

#include <nlohmann/json.hpp>

#include "troupe/runtime/runtime_config.hpp"

namespace troupe {

/// A snapshot of what a runtime is doing; see runtime::metrics().
struct runtime_metrics {
  /// Scheduler worker threads in use (runtime_config::effective_workers()).
  std::size_t workers = 0;
  /// The configured flavor (runtime_config::flavor).
  troupe::flavor flavor = flavor::multi_thread;
  /// The configured runtime_config::max_throughput: messages per actor run.
  std::size_t max_throughput = 0;
  /// Upper bound of the blocking pool and threads started so far (they start on demand).
  std::size_t blocking_threads_max = 0;
  /// Blocking-pool threads started so far; they stay until shutdown.
  std::size_t blocking_threads = 0;
  /// Blocking-pool threads running a job right now.
  std::size_t blocking_busy = 0;
  /// Blocking jobs waiting for a thread.
  std::size_t blocking_queue_depth = 0;
  /// Blocking jobs finished since the runtime started.
  std::size_t blocking_completed = 0;
  /// Running actors of the whole actor system (CAF's count; hidden actors are not counted).
  std::size_t live_actors = 0;
  /// Of those, the ones spawned through runtime::spawn.
  std::size_t spawned_actors = 0;
  /// Messages that reached no handler (see dead_letter_office).
  std::size_t dead_letters = 0;
  /// Time since the runtime was constructed.
  std::chrono::milliseconds uptime{0};
};

void to_json(nlohmann::json& out, const runtime_metrics& m);

} // namespace troupe
