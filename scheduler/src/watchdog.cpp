#include "troupe/scheduler/detail/watchdog.hpp"

#include <algorithm>
#include <cstdio>
#include <string>

#include <caf/local_actor.hpp>

#include "troupe/scheduler/detail/asymmetric_fence.hpp"

namespace troupe::detail {

watchdog::watchdog(std::vector<worker_counters*> workers, std::chrono::milliseconds threshold,
                   stuck_callback on_stuck, hook on_report)
    : workers_(std::move(workers)), threshold_(threshold), on_stuck_(std::move(on_stuck)),
      on_report_(std::move(on_report)) {
  thread_ = std::thread{[this] { run(); }};
}

watchdog::~watchdog() {
  {
    std::lock_guard guard{mtx_};
    stop_ = true;
  }
  stop_cv_.notify_all();
  thread_.join();
}

void watchdog::set_hook(hook h) {
  std::lock_guard guard{mtx_};
  hook_ = std::move(h);
}

void watchdog::run() {
  using clock = std::chrono::steady_clock;
  struct seen {
    uint64_t seq = 0;
    clock::time_point since;
    bool reported = false;
  };
  std::vector<seen> last(workers_.size());
  // Short enough that work stuck behind a blocked handler moves on quickly, long enough to
  // cost nothing measurable on an idle runtime.
  auto period = std::chrono::milliseconds{10};
  if (threshold_.count() > 0)
    period = std::clamp(threshold_ / 4, std::chrono::milliseconds{2}, period);
  std::unique_lock guard{mtx_};
  while (!stop_cv_.wait_for(guard, period, [this] { return stop_; })) {
    auto now = clock::now();
    for (std::size_t i = 0; i < workers_.size(); ++i) {
      auto& k = *workers_[i];
      auto seq = k.resume_seq.load(std::memory_order_acquire);
      auto busy = k.busy.load(std::memory_order_acquire);
      auto& s = last[i];
      if (!busy || seq != s.seq) {
        s = seen{seq, now, false};
        continue;
      }
      if (on_stuck_ && now - s.since >= period)
        on_stuck_(i);
      if (threshold_.count() == 0 || s.reported || now - s.since < threshold_)
        continue;
      s.reported = true;
      blocked_worker_report report;
      report.worker = i;
      // The job belongs to the resume the worker is still stuck in (the sequence number has
      // not moved), which keeps it alive; a changed number means it finished, and we skip it.
      // The job is read only while the worker is held in after_resume (see `inspecting`): a
      // finished resume may otherwise drop the last reference to it meanwhile.
      k.inspecting.store(true, std::memory_order_relaxed);
      asymmetric_heavy_fence(k.inspect_sync); // the worker's side fences only for the compiler
      bool same_resume = k.busy.load(std::memory_order_acquire) &&
                         k.resume_seq.load(std::memory_order_acquire) == seq;
      // Any actor of this process: CAF's scheduled actors and Troupe's actors alike.
      if (auto* actor = dynamic_cast<caf::local_actor*>(
              same_resume ? k.current_job.load(std::memory_order_relaxed) : nullptr)) {
        report.actor = actor->id();
        if (auto* name = actor->name())
          report.actor_name = name;
      }
      k.inspecting.store(false, std::memory_order_release);
      if (!same_resume)
        continue;
      report.held_for = std::chrono::duration_cast<std::chrono::milliseconds>(now - s.since);
      reports_.fetch_add(1);
      std::fprintf(stderr,
                   "troupe: worker %zu blocked for at least %lld ms by actor %llu (%s): a "
                   "handler is blocking; move the work to spawn_blocking\n",
                   i, static_cast<long long>(report.held_for.count()),
                   static_cast<unsigned long long>(report.actor), report.actor_name.c_str());
      if (on_report_)
        on_report_(report);
      if (hook_)
        hook_(report);
    }
  }
}

} // namespace troupe::detail
