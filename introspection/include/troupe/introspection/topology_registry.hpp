#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <caf/actor_addr.hpp>
#include <caf/error.hpp>
#include <caf/fwd.hpp>
#include <nlohmann/json.hpp>

#include "troupe/scheduler/sharded_by_id.hpp"

namespace troupe {

/// What runtime::topology() is made of: the live actors Troupe knows (spawned through the
/// runtime or adopted by an owner), the ordered child rows an owning actor keeps about its
/// children, and the named entries components list in their own top-level sections. Components
/// update it as things happen and describe what only they know (an actor's kind and live
/// figures, a row's details, a section's entries) through providers that run when a dump is
/// taken, so a dump reads one consistent snapshot under one lock; what it shows of an actor
/// (its name, links, monitors, live figures) it reads from the actor, which the dump keeps
/// alive meanwhile. The registry itself names no component.
///
/// It is also the runtime's one table of the actors it tracks for shutdown (registered(),
/// set_owned()): a spawn and an exit take one shard lock and one table entry for both uses.
///
/// Thread safety: every member may be called from any thread.
class topology_registry {
public:
  /// Produces live figures (an actor's details, a section entry) as JSON, when dumped.
  using provider = std::function<nlohmann::json()>;

  /// What a component adds to one child row: rendered only when the topology is dumped, so a
  /// row that changes often (a restart count) costs a dump nothing until one is taken.
  class row_details {
  public:
    virtual ~row_details() = default;
    /// Adds the component's fields to `row`, which holds `id`, `state` and `actor` already.
    virtual void to_json(nlohmann::json& row) const = 0;
  };

  /// An owning actor's row for one child, in its order (`serial`).
  struct child_row {
    /// The child's name in its owner, e.g. a child spec's id.
    std::string id;
    /// The running child; 0 while none runs.
    caf::actor_id actor = 0;
    /// The child's state as its owner sees it; the child's own node shows it too.
    std::string state;
    /// The owner's component's fields; may be null.
    std::unique_ptr<const row_details> details;
  };

  /// How a kind of actor shows in the topology: the same for every actor of that kind, so each
  /// node holds a pointer to one, which must outlive the runtime (a static or constexpr
  /// object). The string views refer to static storage too (string literals).
  ///
  ///   static nlohmann::json load_of(const caf::abstract_actor& a) {
  ///     return {{"load", static_cast<const gadget&>(a).load()}};
  ///   }
  ///   static constexpr topology_registry::profile gadget_shape{
  ///       .kind = "gadget", .details_key = "load", .figures = &load_of};
  ///   registry.describe(id, &gadget_shape);
  struct profile {
    /// What it is ("worker", ...); empty: "actor".
    std::string_view kind{};
    /// The top-level section that lists it while it has no parent; empty: "actors".
    std::string_view section{};
    /// The key under which its live figures (`figures`) appear in its node, as null when it
    /// has none or its actor is gone; empty: it shows none.
    std::string_view details_key{};
    /// Its node lists its child rows (`children`), even while it has none.
    bool has_rows = false;
    /// Reads an actor of this kind's live figures, e.g. {"queued": 3}: called when a dump is
    /// taken, from the thread that dumps, under a lock of the registry, with the actor kept
    /// alive by the dump (so a node holds nothing of its figures, and a kind's actors share
    /// this one function). Null: the node shows null under `details_key`.
    nlohmann::json (*figures)(const caf::abstract_actor& actor) = nullptr;

    /// The kind a dump and the runtime's events show for `shape`: its kind, or "actor" for a
    /// plain actor (no profile, or none given).
    [[nodiscard]] static constexpr std::string_view shown_kind(const profile* shape) noexcept {
      return shape == nullptr || shape->kind.empty() ? std::string_view{"actor"} : shape->kind;
    }
  };

  /// Starts with the top-level sections the dump format requires (docs/topology.schema.json),
  /// as empty lists until components fill them.
  topology_registry();

  /// Off (runtime_config::introspection): dumps list no actors, and descriptions, rows and
  /// states are not kept. Actors are still registered and forgotten (add_actor, remove_actor,
  /// set_owned, registered()): the runtime's shutdown reads them.
  void set_enabled(bool on) noexcept { enabled_.store(on, std::memory_order_relaxed); }

  /// Registers a live actor; returns whether it was not registered yet (a node that describe()
  /// or set_child() made before it was added was not). `shape` shows what it is unless it
  /// described itself already (null: a plain "actor"); like a profile given to describe(), it
  /// must outlive the runtime, so that registering copies nothing. Through `addr` a dump reads the
  /// actor's name, links and monitors (an actor without one, or that ended, shows an empty
  /// name), and shutdown stops it.
  bool add_actor(caf::actor_id id, caf::actor_addr addr, const profile* shape = nullptr);
  /// Forgets an actor that terminated; returns whether it was registered.
  bool remove_actor(caf::actor_id id);

  /// Whether actor `id` is registered (added and not removed yet).
  [[nodiscard]] bool contains(caf::actor_id id) const;

  /// Marks a registered actor as owned: another actor stops it, in its own order, so the
  /// runtime's shutdown does not ask it directly. Ids that are not registered are ignored.
  void set_owned(caf::actor_id id);

  /// A registered actor, as the runtime's shutdown sees it.
  struct registered_actor {
    /// Its id.
    caf::actor_id id = 0;
    /// Its address, as add_actor received it.
    caf::actor_addr addr;
    /// Whether set_owned() marked it.
    bool owned = false;
  };

  /// Every registered actor, in no particular order (a snapshot).
  [[nodiscard]] std::vector<registered_actor> registered() const;

  /// How many actors are registered: the shards' counts, read one after another without a
  /// lock (an add on one shard and a remove on another in between can make it miss one). Its
  /// loads are sequentially consistent, as are the counts' changes: a remove followed by a
  /// sequentially consistent load of a flag either sees the flag set, or the setter's later
  /// count sees the remove.
  [[nodiscard]] std::size_t registered_count() const noexcept;

  /// Whether no actor is registered, read with every shard locked: a consistent answer, where
  /// registered_count() may add up to 0 while an actor is registered.
  [[nodiscard]] bool none_registered() const;

  /// Describes actor `id`: `shape` shows what it is (static storage, see profile). May come
  /// before add_actor: an actor may describe itself while it is constructed. An id the
  /// registry does not know gets a node, so describe an actor only while it lives (from the
  /// actor itself, or before it can run): a description that comes after remove_actor leaves
  /// a node that nothing removes.
  void describe(caf::actor_id id, const profile* shape);

  /// Records an owner's row for one child; the child's own node takes the row's state and the
  /// owner as its parent.
  void set_child(caf::actor_id owner, uint64_t serial, child_row row);
  /// Removes an owner's row.
  void remove_child(caf::actor_id owner, uint64_t serial);

  /// Sets a node's state ("running", "stopping", ...); a child's state comes from its owner's
  /// row instead (set_child).
  void set_state(caf::actor_id id, std::string state);

  /// Makes the top-level section `name` part of every dump, as an empty list while nothing is
  /// in it. Idempotent.
  void declare_section(std::string name);

  /// Registers an entry named `name` in the top-level section `section`; returns a token for
  /// remove_component. `details` produces its fields when dumped. With `members_key`, the
  /// details' list of that name names actors (objects with an `actor` id): each of them lists
  /// `name` among its `subscriptions`.
  uint64_t add_component(std::string section, std::string name, provider details,
                         std::string members_key = {});
  /// Removes an entry added by add_component.
  void remove_component(uint64_t token);

  /// The actors, trees and sections as JSON (see docs/topology.md for the format). With
  /// `node_sections`, also the sections that hold actor trees, in walking order: the
  /// components' sections by name, then "actors".
  [[nodiscard]] nlohmann::json dump(std::vector<std::string>* node_sections = nullptr) const;

  /// How many nodes the registry holds: its registered actors, and those described (or given
  /// rows) before they were added.
  [[nodiscard]] std::size_t size() const;

private:
  // What few actors have: a state other than "running" (a supervised child that restarts), an
  // owner, rows (a supervisor's children), the owned mark, a node made before its actor was
  // added. Made when the first of them is set.
  struct extras {
    std::string state; // empty: "running"
    caf::actor_id parent = 0;
    // By the owner's order.
    std::map<uint64_t, child_row> children;
    // set_owned().
    bool owned = false;
    // Made by describe() or set_child() for an actor add_actor() has not registered yet.
    bool awaiting_add = false;
  };

  // What the registry keeps of one actor. No name: a dump reads it from the actor, which keeps
  // it anyway (a copy was 32 bytes).
  struct node {
    // What every node of its kind shares: one pointer where the kind, section, details key
    // and rows flag cost every node 56 bytes.
    const profile* shape = nullptr;
    caf::actor_addr addr;
    std::chrono::steady_clock::time_point started;
    // Null for nearly every actor, for its whole life.
    std::unique_ptr<extras> extra;

    extras& extras_made() {
      if (!extra)
        extra = std::make_unique<extras>();
      return *extra;
    }

    [[nodiscard]] bool registered() const noexcept { return !extra || !extra->awaiting_add; }
  };

  // A node lives in a block of its own (recycled_allocator), and the flat table (id_map.hpp)
  // keeps an id and a pointer: its free slots cost as much as used ones (its load is between
  // 7/16 and 7/8; 0.48 with 1M actors), and with the node inline a slot was 56 bytes, about 117
  // per actor at 1M actors, against 16 bytes now.
  struct node_deleter {
    void operator()(node* n) const noexcept;
  };
  using node_ptr = std::unique_ptr<node, node_deleter>;
  using node_table = sharded_by_id<node_ptr>;

  // The node of `id` in `s`, or null. Only with the shard's lock held.
  static node* node_in(node_table::shard& s, caf::actor_id id) noexcept;
  static const node* node_in(const node_table::shard& s, caf::actor_id id) noexcept;
  // The node of `id` in `s`, made (empty) if there is none; whether it was made. Only with the
  // shard's lock held.
  static std::pair<node*, bool> emplace_node(node_table::shard& s, caf::actor_id id);

  struct component {
    std::string section;
    std::string name;
    provider details;
    std::string members_key;
  };

  // What a dump adds to each node besides the node itself: links, monitors, subscriptions.
  struct dump_context;

  nlohmann::json node_json(caf::actor_id id, const node& n, const dump_context& ctx,
                           int depth) const;

  [[nodiscard]] bool off() const noexcept { return !enabled_.load(std::memory_order_relaxed); }

  // Only with the shard's lock held (a dump holds them all).
  [[nodiscard]] const node* find_node(caf::actor_id id) const;

  // The node of `id` for a description or rows, made (awaiting its add) if there is none. Only
  // with the shard's lock held.
  node& node_to_describe(node_table::shard& s, caf::actor_id id);

  std::atomic<bool> enabled_{true};
  // Actors are registered on the spawn path, so the nodes are sharded by actor id; each shard's
  // tally counts its registered actors (one shared counter cost every spawn and exit a cache
  // line moved between the workers: a tenth of a churn of short-lived actors). A dump takes
  // every lock (components first, then the shards in order); every other call takes one lock at
  // a time, or a child's and its owner's shards together (std::scoped_lock).
  node_table nodes_;
  mutable std::mutex components_mtx_;
  std::map<uint64_t, component> components_;
  std::set<std::string> sections_; // declared, listed even while empty
  uint64_t next_token_ = 1;
};

} // namespace troupe
