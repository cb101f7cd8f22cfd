#include "troupe/scheduler/system_thread.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/thread_hook.hpp>

namespace troupe {

namespace {

thread_local bool actor_system_thread = false;

/// CAF calls thread_started on every thread it starts, before the thread runs anything.
class system_thread_marker : public caf::thread_hook {
public:
  void init(caf::actor_system&) override {}
  void thread_started() override { actor_system_thread = true; }
  void thread_terminates() override { actor_system_thread = false; }
};

} // namespace

bool on_actor_system_thread() noexcept {
  return actor_system_thread;
}

void mark_actor_system_threads(caf::actor_system_config& cfg) {
  cfg.add_thread_hook<system_thread_marker>();
}

} // namespace troupe
