#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>

#include <caf/fwd.hpp>
#include <nlohmann/json.hpp>

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
    std::string last_exit_reason;
    bool is_supervisor = false;
  };

  /// Off: every call below does nothing and dumps list no actors (runtime_config::introspection).
  void set_enabled(bool on) noexcept { enabled_.store(on, std::memory_order_relaxed); }

  void add_actor(caf::actor_id id, std::string name);
  void remove_actor(caf::actor_id id);

  /// Sets what kind of actor `id` is ("supervisor", "worker", "mailbox", ...) and, optionally,
  /// where its mailbox metrics come from.
  void describe(caf::actor_id id, std::string kind, provider mailbox = {});

  void set_child(caf::actor_id supervisor, uint64_t serial, child_row row);
  void remove_child(caf::actor_id supervisor, uint64_t serial);

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
    std::string kind = "actor";
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

  nlohmann::json node_json(caf::actor_id id, const node& n,
                           std::chrono::steady_clock::time_point now, int depth) const;

  [[nodiscard]] bool off() const noexcept { return !enabled_.load(std::memory_order_relaxed); }

  std::atomic<bool> enabled_{true};
  mutable std::mutex mtx_;
  std::unordered_map<caf::actor_id, node> nodes_;
  std::map<uint64_t, component> components_;
  uint64_t next_token_ = 1;
};

} // namespace troupe::detail
