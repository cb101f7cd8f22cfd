#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <caf/actor_addr.hpp>
#include <caf/fwd.hpp>

#include "troupe/introspection/event_stream.hpp"
#include "troupe/introspection/topology_registry.hpp"
#include "troupe/scheduler/sharded_by_id.hpp"

namespace troupe::detail {

/// The actors a runtime spawned, so that shutdown can ask each of them to stop and report the
/// ones it had to force. An entry leaves when its actor terminates (through an attachable,
/// exit_watch).
///
/// Spawning is the hot path: the table is split into shards by actor id, each with its own lock,
/// so concurrent spawns on different workers rarely meet, and an entry keeps only what shutdown
/// needs (the name is read from the actor when a list is taken).
///
/// Thread safety: all members may be called from any thread.
class actor_tracker {
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

  /// Registers `actor` and arranges for its removal when it terminates; `what` (its shape:
  /// storage that outlives the runtime, see topology_registry::add_actor) shows it in the
  /// topology. If the actor has already terminated, it is never listed.
  void track(const caf::strong_actor_ptr& actor, topology_registry::description what = {});

  /// Tracks `actor` unless it is tracked already (an owner adopting a child that was not
  /// spawned through the runtime), and marks it owned.
  void adopt(const caf::strong_actor_ptr& actor);

  /// Marks a tracked actor as owned (stopped by its owner); unknown ids are ignored.
  void set_owned(caf::actor_id id);

  [[nodiscard]] std::vector<entry> live() const;
  [[nodiscard]] std::size_t size() const noexcept { return count_.load(); }

  /// Waits until no tracked actor is left or `deadline` passes; returns whether none is left.
  bool await_empty(std::chrono::steady_clock::time_point deadline);

private:
  struct slot {
    caf::actor_addr address;
    bool owned = false;
  };

  class exit_watch;

  void remove(caf::actor_id id);
  void publish_exit(caf::abstract_actor* actor, const caf::error& reason);

  sharded_by_id<slot> live_;
  std::atomic<std::size_t> count_{0};
  std::mutex empty_mtx_; // only for await_empty's wait
  std::condition_variable emptied_;
  topology_registry& registry_;
  event_stream& events_;
};

} // namespace troupe::detail
