#pragma once

#include <mutex>
#include <unordered_set>

#include <caf/detail/thread_safe_actor_clock.hpp>

namespace troupe::detail {

/// CAF's clock, minus a cost every terminating actor pays: CAF cancels an actor's timeouts
/// when it terminates, which allocates an event, locks the clock's queue and wakes the clock
/// thread — even for the many actors that never set a timeout. This clock remembers which
/// actors set one and passes only their cancellations on. Everything else goes unchanged to
/// the coordinator's own clock (whose thread dispatches the timeouts).
///
/// Thread safety: as CAF's thread_safe_actor_clock.
class timeout_filtering_clock : public caf::detail::thread_safe_actor_clock {
public:
  explicit timeout_filtering_clock(caf::detail::thread_safe_actor_clock& inner) : inner_(inner) {}

  void set_ordinary_timeout(time_point t, caf::abstract_actor* self, caf::atom_value type,
                            uint64_t id) override;
  void set_multi_timeout(time_point t, caf::abstract_actor* self, caf::atom_value type,
                         uint64_t id) override;
  void set_request_timeout(time_point t, caf::abstract_actor* self, caf::message_id id) override;
  void cancel_ordinary_timeout(caf::abstract_actor* self, caf::atom_value type) override;
  void cancel_request_timeout(caf::abstract_actor* self, caf::message_id id) override;
  void cancel_timeouts(caf::abstract_actor* self) override;
  void schedule_message(time_point t, caf::strong_actor_ptr receiver,
                        caf::mailbox_element_ptr content) override;
  void schedule_message(time_point t, caf::group target, caf::strong_actor_ptr sender,
                        caf::message content) override;
  void cancel_all() override;

private:
  void remember(caf::abstract_actor* self);

  caf::detail::thread_safe_actor_clock& inner_;
  std::mutex mtx_;
  std::unordered_set<caf::actor_id> with_timeouts_;
};

} // namespace troupe::detail
