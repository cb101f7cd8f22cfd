#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <string>
#include <vector>

#include <caf/actor_addr.hpp>
#include <caf/fwd.hpp>

#include "troupe/introspection/event_stream.hpp"
#include "troupe/introspection/topology_registry.hpp"
#include "troupe/runtime/exit_listener.hpp"

namespace troupe::detail {

/// The actors a runtime spawned, so that shutdown can ask each of them to stop and report the
/// ones it had to force. An actor leaves when it terminates: it tells the tracker itself when
/// it can (exit_listener), or an attachable does (exit_watch).
///
/// Spawning is the hot path: the table is the topology registry's (one shard lock and one
/// entry per spawn and per exit for both), sharded by actor id so that concurrent spawns on
/// different workers rarely meet; this class adds the wait for the last one to end and the
/// runtime's spawn and exit events. Names are read from the actors when a list is taken.
///
/// Thread safety: all members may be called from any thread.
class actor_tracker final : public exit_listener {
public:
  /// Tracked actors also appear in `registry` (the topology) while they live; their starts and
  /// ends are published on `events` (actor.spawned, actor.exited) when someone listens.
  actor_tracker(topology_registry& registry, event_stream& events)
      : registry_(registry), events_(events) {}

  struct entry {
    caf::actor_id id = 0;
    std::string name;
    caf::actor_addr address;
    /// Stopped by the actor that owns it, in that owner's order, rather than by shutdown's
    /// broadcast.
    bool owned = false;
  };

  /// Who tells the tracker that a tracked actor ended.
  enum class exit_told_by : bool {
    /// An object the tracker attaches to the actor (caf::attachable).
    attachable,
    /// The actor itself, through actor_exited(): it was given the tracker before it started.
    actor,
  };

  /// Registers `actor` and arranges for its removal when it terminates; `shape` (storage that
  /// outlives the runtime, see topology_registry::add_actor) shows it in the topology. If the
  /// actor has already terminated, it is never listed.
  void track(const caf::strong_actor_ptr& actor, const topology_registry::profile* shape = nullptr,
             exit_told_by told_by = exit_told_by::attachable);

  /// A tracked actor ended: publishes actor.exited and forgets it.
  void actor_exited(caf::abstract_actor& actor, const caf::error& reason) override;

  /// Tracks `actor` unless it is tracked already (an owner adopting a child that was not
  /// spawned through the runtime), and marks it owned.
  void adopt(const caf::strong_actor_ptr& actor);

  /// Marks a tracked actor as owned (stopped by its owner); unknown ids are ignored.
  void set_owned(caf::actor_id id);

  [[nodiscard]] std::vector<entry> live() const;
  [[nodiscard]] std::size_t size() const noexcept { return registry_.registered_count(); }

  /// Waits until no tracked actor is left or `deadline` passes; returns whether none is left.
  bool await_empty(std::chrono::steady_clock::time_point deadline);

private:
  class exit_watch;

  void remove(caf::actor_id id);
  void publish_exit(caf::abstract_actor* actor, const caf::error& reason);

  std::mutex empty_mtx_; // only for await_empty's wait
  std::condition_variable emptied_;
  // How many await_empty calls wait. An exit sums the registry's count only while one does:
  // the count is a sum over the registry's shards (see remove()).
  std::atomic<int> waiting_{0};
  topology_registry& registry_;
  event_stream& events_;
};

} // namespace troupe::detail
