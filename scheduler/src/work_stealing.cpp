#include "troupe/scheduler/work_stealing.hpp"

#include <algorithm>
#include <utility>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/detail/build_config.hpp>
#include <caf/logger.hpp>

#include "troupe/scheduler/detail/troupe_coordinator.hpp"
#include "troupe/scheduler/detail/troupe_policy.hpp"
#include "troupe/scheduler/detail/watchdog.hpp"

namespace troupe::work_stealing {

namespace {

using coordinator = caf::scheduler::coordinator<detail::troupe_policy>;

coordinator* coordinator_of(caf::actor_system& sys) noexcept {
  return dynamic_cast<coordinator*>(&sys.scheduler());
}

} // namespace

void install(caf::actor_system_config& cfg) {
  cfg.load<detail::troupe_coordinator>();
}

void forget_thread_logger() noexcept {
#if CAF_LOG_LEVEL == CAF_LOG_LEVEL_QUIET
  caf::logger::set_current_actor_system(nullptr);
#endif
}

bool runs_in(caf::actor_system& sys) noexcept {
  return coordinator_of(sys) != nullptr;
}

bool attach_io(caf::actor_system& sys, io_driver& driver) {
  auto* coord = coordinator_of(sys);
  return coord != nullptr && detail::troupe_policy::attach(coord->data(), driver);
}

void detach_io(caf::actor_system& sys) {
  if (auto* coord = coordinator_of(sys))
    detail::troupe_policy::detach(coord->data());
}

bool collect(caf::actor_system& sys, scheduler_metrics& m) {
  auto* coord = coordinator_of(sys);
  if (coord == nullptr)
    return false;
  auto now = detail::troupe_policy::now_ns();
  m.total.id = coord->num_workers();
  for (std::size_t i = 0; i < coord->num_workers(); ++i) {
    auto& data = coord->worker_by_id(i)->data();
    auto& k = data.counters;
    worker_metrics w;
    w.id = i;
    w.resumes = k.resume_seq.load(std::memory_order_relaxed);
    w.lifo_runs = k.lifo_runs.load(std::memory_order_relaxed);
    w.steal_attempts = k.steal_attempts.load(std::memory_order_relaxed);
    w.steals = k.steals.load(std::memory_order_relaxed);
    w.parks = k.parks.load(std::memory_order_relaxed);
    w.unparks = k.unparks.load(std::memory_order_relaxed);
    auto parked_ns = k.parked_ns.load(std::memory_order_relaxed);
    auto started = k.started_ns.load(std::memory_order_relaxed);
    w.parked = std::chrono::milliseconds{parked_ns / 1'000'000};
    w.active = std::chrono::milliseconds{
        started == 0 ? 0 : std::max<int64_t>(0, now - started - parked_ns) / 1'000'000};
    w.local_queue_depth = data.queue.size_hint();
    w.busy = k.busy.load(std::memory_order_relaxed);
    w.sleeping = k.sleeping.load(std::memory_order_relaxed);
    m.total.resumes += w.resumes;
    m.total.lifo_runs += w.lifo_runs;
    m.total.steal_attempts += w.steal_attempts;
    m.total.steals += w.steals;
    m.total.parks += w.parks;
    m.total.unparks += w.unparks;
    m.total.parked += w.parked;
    m.total.active += w.active;
    m.total.local_queue_depth += w.local_queue_depth;
    m.per_worker.push_back(w);
  }
  m.injection_queue_depth = coord->data().injection.size();
  return true;
}

std::unique_ptr<blocked_worker_watchdog>
blocked_worker_watchdog::start(caf::actor_system& sys, std::chrono::milliseconds threshold,
                               report_callback on_report) {
  auto* coord = coordinator_of(sys);
  if (coord == nullptr)
    return nullptr;
  std::vector<detail::worker_counters*> counters;
  for (std::size_t i = 0; i < coord->num_workers(); ++i)
    counters.push_back(&coord->worker_by_id(i)->data().counters);
  auto impl = std::make_unique<detail::watchdog>(
      std::move(counters), threshold,
      [coord](std::size_t i) {
        detail::troupe_policy::rescue(coord->data(), coord->worker_by_id(i)->data());
      },
      std::move(on_report));
  return std::unique_ptr<blocked_worker_watchdog>{new blocked_worker_watchdog(std::move(impl))};
}

blocked_worker_watchdog::blocked_worker_watchdog(std::unique_ptr<detail::watchdog> impl)
    : impl_(std::move(impl)) {}

blocked_worker_watchdog::~blocked_worker_watchdog() = default;

void blocked_worker_watchdog::set_hook(report_callback hook) {
  impl_->set_hook(std::move(hook));
}

uint64_t blocked_worker_watchdog::reports() const noexcept {
  return impl_->reports();
}

} // namespace troupe::work_stealing
