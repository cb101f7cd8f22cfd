#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>

#include <caf/error.hpp>

namespace troupe::detail {

/// A bounded set of dedicated threads for blocking work, never the scheduler's workers.
///
/// Threads start on demand, up to `max_threads`, and stay until shutdown. Jobs wait in a FIFO
/// of at most `queue_capacity` entries; a submit beyond that is rejected, not queued.
///
/// Thread safety: every member function may be called from any thread.
/// Memory ordering: everything a thread did before submit() happens-before the job runs.
class blocking_pool {
public:
  /// A job runs with `cancelled == false`, or, when it never got a thread because the pool
  /// shut down first, is called once with `cancelled == true` so it can answer its waiter.
  using job = std::function<void(bool cancelled)>;

  struct stats {
    std::size_t threads = 0;
    std::size_t busy = 0;
    std::size_t queued = 0;
    std::size_t completed = 0;
  };

  blocking_pool(std::size_t max_threads, std::size_t queue_capacity);
  blocking_pool(const blocking_pool&) = delete;
  blocking_pool& operator=(const blocking_pool&) = delete;
  ~blocking_pool();

  /// Queues a job. Errors: runtime_errc::blocking_queue_full, runtime_errc::shutting_down.
  [[nodiscard]] caf::error submit(job fn);

  [[nodiscard]] stats snapshot() const;

  /// Stops accepting jobs, cancels the queued ones and waits up to `deadline` for running jobs.
  /// Threads still busy after the deadline are detached (they own their share of the state), so
  /// shutdown never hangs on a job that never returns. Returns how many were left running.
  std::size_t shutdown(std::chrono::steady_clock::duration deadline);

private:
  struct state;
  static void run_thread(std::shared_ptr<state> st);
  std::shared_ptr<state> state_;
};

} // namespace troupe::detail
