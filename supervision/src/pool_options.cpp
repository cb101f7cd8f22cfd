#include "troupe/supervision/pool_options.hpp"

#include <string>

#include <nlohmann/json.hpp>

#include "troupe/mailbox/mailbox_errc.hpp"
#include "troupe/scheduler/errors.hpp"
#include "troupe/supervision/pool_metrics.hpp"
#include "troupe/supervision/worker_pool.hpp"

namespace troupe {

namespace {

caf::error out_of_range(const char* field, const std::string& value) {
  return make_error(config_errc::out_of_range, std::string{field}, value);
}

} // namespace

const char* to_string(dispatch_policy p) noexcept {
  switch (p) {
  case dispatch_policy::balanced:
    return "balanced";
  case dispatch_policy::round_robin:
    return "round_robin";
  case dispatch_policy::key_affinity:
    return "key_affinity";
  }
  return "unknown";
}

caf::error pool_options::validate() const {
  if (workers == 0 || workers > max_workers)
    return out_of_range("workers", std::to_string(workers) + " (1..256)");
  if (capacity == 0)
    return out_of_range("capacity", "0 (at least 1)");
  if (restart_period.count() <= 0)
    return out_of_range("restart_period", std::to_string(restart_period.count()) + "ms");
  return caf::none;
}

void to_json(nlohmann::json& out, const pool_metrics& m) {
  out = nlohmann::json{{"name", m.name},
                       {"capacity", m.capacity},
                       {"queue_depth", m.queue_depth},
                       {"parked", m.parked},
                       {"workers", m.workers},
                       {"in_flight", m.in_flight},
                       {"completed", m.completed},
                       {"failed", m.failed},
                       {"retried", m.retried},
                       {"restarts", m.restarts},
                       {"rejected", m.rejected},
                       {"dropped", m.dropped},
                       {"cancelled", m.cancelled},
                       {"latency_p50_us", m.latency_p50_us},
                       {"latency_p99_us", m.latency_p99_us}};
}

namespace detail {

caf::error admit_error(admission_outcome outcome) {
  switch (outcome) {
  case admission_outcome::accepted:
  case admission_outcome::parked:
    return caf::none;
  case admission_outcome::full:
  case admission_outcome::timeout: // a thread's wait for room ran out: still a full queue
    return make_error(mailbox_errc::mailbox_full);
  case admission_outcome::dropped:
    return make_error(mailbox_errc::mailbox_full, std::string{"dropped (drop_newest)"});
  case admission_outcome::closed:
  case admission_outcome::receiver_dead: // a pool has no single receiver; listed for the switch
    return make_error(runtime_errc::shutting_down);
  }
  return caf::none;
}

} // namespace detail

} // namespace troupe
