#include "troupe/scheduler/scheduler_metrics.hpp"

namespace troupe {

void to_json(nlohmann::json& out, const worker_metrics& m) {
  out = nlohmann::json{{"id", m.id},
                       {"resumes", m.resumes},
                       {"lifo_runs", m.lifo_runs},
                       {"steal_attempts", m.steal_attempts},
                       {"steals", m.steals},
                       {"parks", m.parks},
                       {"unparks", m.unparks},
                       {"parked_ms", m.parked.count()},
                       {"active_ms", m.active.count()},
                       {"local_queue_depth", m.local_queue_depth},
                       {"busy", m.busy},
                       {"sleeping", m.sleeping}};
}

void to_json(nlohmann::json& out, const scheduler_metrics& m) {
  out = nlohmann::json{{"policy", m.policy},
                       {"workers", m.workers},
                       {"per_worker", m.per_worker},
                       {"total", m.total},
                       {"injection_queue_depth", m.injection_queue_depth},
                       {"blocked_reports", m.blocked_reports}};
}

} // namespace troupe
