#include "troupe/core/actor.hpp"

#include <caf/sec.hpp>

#include "troupe/scheduler/dead_letter_office.hpp"
#include "troupe/scheduler/runtime.hpp"

namespace troupe {

caf::error actor::dead_reply_reason() const {
  return caf::make_error(caf::sec::request_receiver_down);
}

void actor::discard_replies() {
  std::lock_guard guard{discard_mtx_};
  auto* queue = replies_.load(std::memory_order_acquire);
  if (queue == nullptr)
    return; // nothing ever replied
  while (auto reply = queue->try_pop()) {
    const char* type = (*reply)->message_type();
    if (type == nullptr)
      continue; // not an answer (a barrier release): nobody missed it
    if (auto* rt = runtime::of(home_system()))
      rt->dead_letters()->report(dead_letter{name(), type, dead_reply_reason()});
  }
}

} // namespace troupe
