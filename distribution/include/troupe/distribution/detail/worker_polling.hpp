#pragma once

// The network's event loop run by Troupe's idle workers instead of a thread of its own.

#include <caf/actor_system.hpp>
#include <caf/fwd.hpp>

#include "troupe/scheduler/io_driver.hpp"

namespace troupe::detail {

class worker_multiplexer;

/// A CAF module (loaded by network_setup's customizer) that hands CAF's multiplexer to the
/// workers of Troupe's scheduler (work_stealing::attach_io). CAF runs the multiplexer on a
/// thread of its own, and a remote request then crossed threads four times per round trip
/// (worker to that thread and back on each side, about a wake-up each on this kind of machine);
/// run by the workers, a request that arrives is served and its reply written by the worker
/// that reads it.
///
/// Lifetime: init() switches CAF's middleman to manual multiplexing (no thread of its own) and
/// makes every thread post to the multiplexer (worker_multiplexer.hpp, which network_setup
/// loads the middleman with) rather than run it inline; start() attaches it to the workers;
/// stop() detaches it before the middleman stops (this module takes the slot of the network
/// manager, a module CAF 0.17 does not have, which the actor system stops first), and the
/// middleman's stop then runs the loop on the stopping thread until every socket is closed,
/// as CAF's thread did (worker_multiplexer::try_run_once). With one of CAF's schedulers, or
/// another network backend, it does nothing and CAF's thread stays.
class worker_polling final : public caf::actor_system::module, public io_driver {
public:
  explicit worker_polling(caf::actor_system& sys) : sys_(sys) {}

  /// What actor_system_config::load<worker_polling>() calls.
  static caf::actor_system::module* make(caf::actor_system& sys, caf::detail::type_list<>) {
    return new worker_polling(sys);
  }

  void init(caf::actor_system_config& cfg) override;
  void start() override;
  void stop() override;
  [[nodiscard]] id_t id() const override { return network_manager; }
  void* subtype_ptr() override { return this; }

  bool poll(bool block) override;
  void wake() override;

private:
  caf::actor_system& sys_;
  worker_multiplexer* mpx_ = nullptr;
  bool attached_ = false;
};

} // namespace troupe::detail
