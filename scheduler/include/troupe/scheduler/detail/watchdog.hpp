#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "troupe/scheduler/detail/troupe_policy.hpp"
#include "troupe/scheduler/scheduler_metrics.hpp"

namespace troupe::detail {

/// Notices a handler that holds a scheduler worker longer than a threshold: the seed's
/// "blocking in async code" pitfall, caught at run time. It samples each worker's resume
/// sequence number; a worker that stays busy in the same resume past the threshold is reported
/// once (counter, log line on stderr, the owner's callback, then the optional hook).
///
/// Thread safety: set_hook() and reports() may be called from any thread.
class watchdog {
public:
  using hook = std::function<void(const blocked_worker_report&)>;
  /// Called with the index of a worker that has been busy in the same resume for a whole
  /// sampling period: the scheduler moves the work that waits behind it.
  using stuck_callback = std::function<void(std::size_t worker)>;

  /// `threshold` 0 disables the reports; the stuck callback runs either way. Each report goes
  /// to `on_report` (may be empty; the runtime publishes it as an event), then to the hook.
  watchdog(std::vector<worker_counters*> workers, std::chrono::milliseconds threshold,
           stuck_callback on_stuck, hook on_report = {});
  watchdog(const watchdog&) = delete;
  watchdog& operator=(const watchdog&) = delete;
  ~watchdog();

  void set_hook(hook h);
  [[nodiscard]] uint64_t reports() const noexcept { return reports_.load(); }

private:
  void run();

  std::vector<worker_counters*> workers_;
  std::chrono::milliseconds threshold_;
  stuck_callback on_stuck_;
  hook on_report_;
  std::atomic<uint64_t> reports_{0};
  std::mutex mtx_;
  std::condition_variable stop_cv_;
  bool stop_ = false;
  hook hook_;
  std::thread thread_;
};

} // namespace troupe::detail
