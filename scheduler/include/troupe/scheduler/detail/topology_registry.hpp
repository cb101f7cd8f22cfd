#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include <caf/actor_addr.hpp>
#include <caf/error.hpp>
#include <caf/fwd.hpp>
#include <nlohmann/json.hpp>

#include "troupe/scheduler/detail/sharded_by_id.hpp"

namespace troupe::detail {

/// What runtime::topology() is made of: the live actors Troupe knows (spawned through the
/// runtime or adopted by a supervisor), what each supervisor says about its children, and the
/// named components (topics, pools). Components update it as things happen, so a dump reads
/// one consistent snapshot under one lock and never asks an actor anything.
///
/// Thread safety: every member may be called from any thread.
class topology_registry {
public:
  /// Produces a node's live figures (mailbox metrics, a pool's metrics) as JSON.
  using provider = std::function<nlohmann::json()>;

  /// A supervisor's row for one child, in its start order (`serial`).
  struct child_row {
    std::string id;
    caf::actor_id actor = 0; // 0: not running
    std::string state;
    std::string restart;
    uint64_t restarts = 0;
    /// How its last incarnation ended: none while it never ended, an empty error for a normal
    /// end. Rendered only when dumped: restarts are frequent, dumps rare.
    std::optional<caf::error> last_exit_reason;
    bool is_supervisor = false;
  };

  /// Off: every call below does nothing and dumps list no actors (runtime_config::introspection).
  void set_enabled(bool on) noexcept { enabled_.store(on, std::memory_order_relaxed); }

  /// Registers a live actor. `kind` names what it is unless it described itself already
  /// (empty: "actor"); `addr` lets dumps read its links and monitors.
  void add_actor(caf::actor_id id, std::string name, caf::actor_addr addr,
                 std::string_view kind = {});
  void remove_actor(caf::actor_id id);

  /// Sets what kind of actor `id` is ("supervisor", "worker", "mailbox", ...) and, optionally,
  /// where its mailbox metrics come from.
  void describe(caf::actor_id id, std::string kind, provider mailbox = {});

  /// Records a supervisor's row for one child; the child's own node takes the row's state.
  void set_child(caf::actor_id supervisor, uint64_t serial, child_row row);
  void remove_child(caf::actor_id supervisor, uint64_t serial);

  /// Sets a node's state ("running", "stopping", ...); a supervised child's state comes from
  /// its supervisor's row instead (set_child).
  void set_state(caf::actor_id id, std::string state);

  /// Registers a named component of a section ("topics", "pools"); returns a token for
  /// remove_component.
  uint64_t add_component(std::string section, std::string name, provider details);
  void remove_component(uint64_t token);

  /// The actors, trees and components as JSON (see docs/topology.md for the format).
  [[nodiscard]] nlohmann::json dump() const;

  [[nodiscard]] std::size_t size() const;

private:
  struct node {
    std::string name;
    std::string kind; // empty: "actor"
    std::string state = "running";
    caf::actor_addr addr;
    caf::actor_id parent = 0;
    std::chrono::steady_clock::time_point started;
    provider mailbox;
    std::map<uint64_t, child_row> children; // supervisors: by start order
  };

  struct component {
    std::string section;
    std::string name;
    provider details;
  };

  // What a dump adds to each node besides the node itself: links, monitors, subscriptions.
  struct dump_context;

  nlohmann::json node_json(caf::actor_id id, const node& n, const dump_context& ctx,
                           int depth) const;

  [[nodiscard]] bool off() const noexcept { return !enabled_.load(std::memory_order_relaxed); }

  // Only with the shard's lock held (a dump holds them all).
  [[nodiscard]] const node* find_node(caf::actor_id id) const;

  std::atomic<bool> enabled_{true};
  // Actors are registered on the spawn path, so the nodes are sharded by actor id. A dump takes
  // every lock (components first, then the shards in order); every other call takes one lock at
  // a time, or a child's and its supervisor's shards together (std::scoped_lock).
  sharded_by_id<node> nodes_;
  mutable std::mutex components_mtx_;
  std::map<uint64_t, component> components_;
  uint64_t next_token_ = 1;
};

} // namespace troupe::detail
