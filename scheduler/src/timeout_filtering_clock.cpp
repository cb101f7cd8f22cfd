#include "troupe/scheduler/detail/timeout_filtering_clock.hpp"

#include <caf/abstract_actor.hpp>
#include <caf/group.hpp>
#include <caf/mailbox_element.hpp>

namespace troupe::detail {

void timeout_filtering_clock::remember(caf::abstract_actor* self) {
  std::lock_guard guard{mtx_};
  with_timeouts_.insert(self->id());
}

void timeout_filtering_clock::set_ordinary_timeout(time_point t, caf::abstract_actor* self,
                                                   caf::atom_value type, uint64_t id) {
  remember(self);
  inner_.set_ordinary_timeout(t, self, type, id);
}

void timeout_filtering_clock::set_multi_timeout(time_point t, caf::abstract_actor* self,
                                                caf::atom_value type, uint64_t id) {
  remember(self);
  inner_.set_multi_timeout(t, self, type, id);
}

void timeout_filtering_clock::set_request_timeout(time_point t, caf::abstract_actor* self,
                                                  caf::message_id id) {
  remember(self);
  inner_.set_request_timeout(t, self, id);
}

void timeout_filtering_clock::cancel_ordinary_timeout(caf::abstract_actor* self,
                                                      caf::atom_value type) {
  inner_.cancel_ordinary_timeout(self, type);
}

void timeout_filtering_clock::cancel_request_timeout(caf::abstract_actor* self,
                                                     caf::message_id id) {
  inner_.cancel_request_timeout(self, id);
}

void timeout_filtering_clock::cancel_timeouts(caf::abstract_actor* self) {
  {
    std::lock_guard guard{mtx_};
    // Called once, as the actor terminates: an actor that never set a timeout has none.
    if (with_timeouts_.erase(self->id()) == 0)
      return;
  }
  inner_.cancel_timeouts(self);
}

void timeout_filtering_clock::schedule_message(time_point t, caf::strong_actor_ptr receiver,
                                               caf::mailbox_element_ptr content) {
  inner_.schedule_message(t, std::move(receiver), std::move(content));
}

void timeout_filtering_clock::schedule_message(time_point t, caf::group target,
                                               caf::strong_actor_ptr sender, caf::message content) {
  inner_.schedule_message(t, std::move(target), std::move(sender), std::move(content));
}

void timeout_filtering_clock::cancel_all() {
  inner_.cancel_all();
}

} // namespace troupe::detail
