#include "troupe/introspection/topology_registry.hpp"

#include <algorithm>
#include <array>
#include <optional>
#include <set>
#include <unordered_set>
#include <vector>

#include <caf/abstract_actor.hpp>
#include <caf/actor_cast.hpp>

#include "troupe/introspection/actor_name.hpp"
#include "troupe/introspection/detail/actor_relations.hpp"
#include "troupe/introspection/detail/topology_sections.hpp"
#include "troupe/scheduler/recycled_allocator.hpp"

namespace troupe {

namespace {

constexpr std::string_view running_state = "running";

// A node stores nothing for the state nearly every node keeps (see node::extra).
template <class Node>
void set_node_state(Node& n, std::string state) {
  if (state != running_state)
    n.extras_made().state = std::move(state);
  else if (n.extra)
    n.extra->state.clear();
}

template <class Node>
caf::actor_id parent_of(const Node& n) {
  return n.extra ? n.extra->parent : 0;
}

// A node without a profile shows as a plain actor in the section "actors".
constexpr topology_registry::profile plain_actor{};

// Every shard's lock, taken in order: how every call that needs the whole table at once (a
// dump, the check that none is registered) locks it.
template <class Table>
auto lock_every_shard(Table& table) {
  std::array<std::unique_lock<adaptive_mutex>, Table::shard_count> guards;
  for (std::size_t i = 0; i < guards.size(); ++i)
    guards[i] = std::unique_lock{table.shards()[i].mtx};
  return guards;
}

template <class Node>
const topology_registry::profile& shape_of(const Node& n) {
  return n.shape != nullptr ? *n.shape : plain_actor;
}

} // namespace

void topology_registry::node_deleter::operator()(node* n) const noexcept {
  n->~node();
  recycled_allocator<node>{}.deallocate(n, 1);
}

topology_registry::node* topology_registry::node_in(node_table::shard& s,
                                                    caf::actor_id id) noexcept {
  auto* slot = s.entries.find(id);
  return slot == nullptr ? nullptr : slot->get();
}

const topology_registry::node* topology_registry::node_in(const node_table::shard& s,
                                                          caf::actor_id id) noexcept {
  const auto* slot = s.entries.find(id);
  return slot == nullptr ? nullptr : slot->get();
}

std::pair<topology_registry::node*, bool> topology_registry::emplace_node(node_table::shard& s,
                                                                          caf::actor_id id) {
  auto [slot, made] = s.entries.try_emplace(id);
  if (made) {
    try {
      auto* block = recycled_allocator<node>{}.allocate(1);
      *slot = node_ptr{::new (block) node{}}; // noexcept: every member starts empty
    } catch (...) {
      s.entries.erase(id); // no entry without its node
      throw;
    }
  }
  return {slot->get(), made};
}

bool topology_registry::add_actor(caf::actor_id id, caf::actor_addr addr, const profile* shape) {
  // Read before the shard's lock, which every spawn and exit takes: it is held as briefly as
  // it can be.
  const auto started = std::chrono::steady_clock::now();
  auto& s = nodes_.of(id);
  std::lock_guard guard{s.mtx};
  // The node may exist already: described during its actor's construction.
  auto [n, made] = emplace_node(s, id);
  const bool fresh = made || !n->registered();
  if (n->extra)
    n->extra->awaiting_add = false;
  n->addr = std::move(addr);
  if (n->shape == nullptr)
    n->shape = shape;
  n->started = started;
  if (fresh)
    s.tally.fetch_add(1, std::memory_order_seq_cst);
  return fresh;
}

bool topology_registry::remove_actor(caf::actor_id id) {
  auto& s = nodes_.of(id);
  // Destroyed after the lock (declared before it): the node's block and its address's weak
  // reference are given back while spawns and exits on other workers can take the shard.
  node_ptr gone;
  std::lock_guard guard{s.mtx};
  auto* slot = s.entries.find(id);
  if (slot == nullptr)
    return false;
  const bool was_registered = (*slot)->registered();
  gone = std::move(*slot);
  s.entries.erase(id);
  if (was_registered)
    s.tally.fetch_sub(1, std::memory_order_seq_cst);
  return was_registered;
}

bool topology_registry::contains(caf::actor_id id) const {
  auto& s = nodes_.of(id);
  std::lock_guard guard{s.mtx};
  auto* n = node_in(s, id);
  return n != nullptr && n->registered();
}

void topology_registry::set_owned(caf::actor_id id) {
  auto& s = nodes_.of(id);
  std::lock_guard guard{s.mtx};
  if (auto* n = node_in(s, id); n != nullptr && n->registered())
    n->extras_made().owned = true;
}

std::vector<topology_registry::registered_actor> topology_registry::registered() const {
  std::vector<registered_actor> result;
  for (auto& s : nodes_.shards()) {
    std::lock_guard guard{s.mtx};
    s.entries.for_each([&](caf::actor_id id, const node_ptr& n) {
      if (n->registered())
        result.push_back({id, n->addr, n->extra && n->extra->owned});
    });
  }
  return result;
}

topology_registry::node& topology_registry::node_to_describe(node_table::shard& s,
                                                             caf::actor_id id) {
  auto [n, made] = emplace_node(s, id);
  if (made)
    n->extras_made().awaiting_add = true;
  return *n;
}

void topology_registry::describe(caf::actor_id id, const profile* shape) {
  if (off())
    return;
  auto& s = nodes_.of(id);
  std::lock_guard guard{s.mtx};
  // Makes the node if the actor is not added yet: an actor may describe itself while it is
  // constructed, before runtime::spawn registers it.
  auto& n = node_to_describe(s, id);
  n.shape = shape;
}

void topology_registry::set_child(caf::actor_id owner, uint64_t serial, child_row row) {
  if (off())
    return;
  // The child's parent and the owner's row change together, as one step for a dump: both
  // shards are locked at once (std::scoped_lock avoids deadlock with a dump's ordered locking).
  auto& own = nodes_.of(owner);
  auto& kid = nodes_.of(row.actor);
  auto update = [&] {
    if (row.actor != 0)
      if (auto* child = node_in(kid, row.actor)) {
        child->extras_made().parent = owner;
        set_node_state(*child, row.state);
      }
    node_to_describe(own, owner).extras_made().children[serial] = std::move(row);
  };
  if (&kid == &own) {
    std::lock_guard guard{own.mtx};
    update();
  } else {
    std::scoped_lock guard{own.mtx, kid.mtx};
    update();
  }
}

void topology_registry::set_state(caf::actor_id id, std::string state) {
  if (off())
    return;
  auto& s = nodes_.of(id);
  std::lock_guard guard{s.mtx};
  if (auto* n = node_in(s, id))
    set_node_state(*n, std::move(state));
}

void topology_registry::remove_child(caf::actor_id owner, uint64_t serial) {
  if (off())
    return;
  // Destroyed outside the lock: a component's details may be anything.
  std::optional<child_row> removed;
  auto& s = nodes_.of(owner);
  std::lock_guard guard{s.mtx};
  if (auto* n = node_in(s, owner); n != nullptr && n->extra) {
    auto& rows = n->extra->children;
    if (auto row = rows.find(serial); row != rows.end()) {
      removed.emplace(std::move(row->second));
      rows.erase(row);
    }
  }
}

topology_registry::topology_registry() {
  for (auto section : detail::topology_sections())
    sections_.emplace(section);
}

void topology_registry::declare_section(std::string name) {
  std::lock_guard guard{components_mtx_};
  sections_.insert(std::move(name));
}

uint64_t topology_registry::add_component(std::string section, std::string name, provider details,
                                          std::string members_key) {
  std::lock_guard guard{components_mtx_};
  auto token = next_token_++;
  components_.emplace(token, component{std::move(section), std::move(name), std::move(details),
                                       std::move(members_key)});
  return token;
}

void topology_registry::remove_component(uint64_t token) {
  std::lock_guard guard{components_mtx_};
  components_.erase(token);
}

std::size_t topology_registry::registered_count() const noexcept {
  std::size_t total = 0;
  for (auto& s : nodes_.shards())
    total += s.tally.load(std::memory_order_seq_cst);
  return total;
}

bool topology_registry::none_registered() const {
  auto guards = lock_every_shard(nodes_);
  return registered_count() == 0;
}

std::size_t topology_registry::size() const {
  std::size_t total = 0;
  for (auto& s : nodes_.shards()) {
    std::lock_guard guard{s.mtx};
    total += s.entries.size();
  }
  return total;
}

const topology_registry::node* topology_registry::find_node(caf::actor_id id) const {
  return node_in(nodes_.of(id), id);
}

struct topology_registry::dump_context {
  std::chrono::steady_clock::time_point now;
  std::unordered_map<caf::actor_id, detail::actor_relations> relations;
  std::unordered_map<caf::actor_id, std::vector<caf::actor_id>> monitors; // the inverse
  std::unordered_map<caf::actor_id, std::vector<std::string>> subscriptions;
  // The live actors, kept alive by the dump: a node shows their names and figures.
  std::unordered_map<caf::actor_id, caf::abstract_actor*> actors;
};

namespace {

nlohmann::json id_list(const std::vector<caf::actor_id>* ids) {
  auto out = nlohmann::json::array();
  if (ids != nullptr)
    for (auto id : *ids)
      out.push_back(id);
  return out;
}

template <class Map>
const typename Map::mapped_type* find_in(const Map& map, caf::actor_id id) {
  auto i = map.find(id);
  return i == map.end() ? nullptr : &i->second;
}

} // namespace

nlohmann::json topology_registry::node_json(caf::actor_id id, const node& n,
                                            const dump_context& ctx, int depth) const {
  auto* rel = find_in(ctx.relations, id);
  const auto& shape = shape_of(n);
  auto* const* actor = find_in(ctx.actors, id);
  auto subscriptions = nlohmann::json::array();
  if (auto* names = find_in(ctx.subscriptions, id))
    for (auto& name : *names)
      subscriptions.push_back(name);
  nlohmann::json out{
      {"id", id},
      // Read from the actor, which keeps its name for its whole life: a copy in every node
      // would cost it 32 bytes. An actor that ended before the dump shows an empty name.
      {"name", actor != nullptr ? actor_name(**actor) : ""},
      {"kind", profile::shown_kind(&shape)},
      {"state",
       n.extra && !n.extra->state.empty() ? std::string_view{n.extra->state} : running_state},
      {"parent", parent_of(n) == 0 ? nlohmann::json(nullptr) : nlohmann::json(parent_of(n))},
      {"uptime_ms",
       std::chrono::duration_cast<std::chrono::milliseconds>(ctx.now - n.started).count()},
      {"links", id_list(rel != nullptr ? &rel->links : nullptr)},
      {"monitors", id_list(find_in(ctx.monitors, id))},
      {"monitored_by", id_list(rel != nullptr ? &rel->monitored_by : nullptr)},
      {"subscriptions", std::move(subscriptions)},
  };
  if (!shape.details_key.empty()) {
    // An actor that is gone (ended, its node not removed yet) shows null under its key, as
    // the format allows.
    out[std::string{shape.details_key}] =
        actor != nullptr && shape.figures != nullptr ? shape.figures(**actor) : nlohmann::json{};
  }
  if (shape.has_rows) {
    auto children = nlohmann::json::array();
    if (n.extra)
      for (auto& [serial, row] : n.extra->children) {
        nlohmann::json c{{"id", row.id}, {"state", row.state}, {"actor", nullptr}};
        if (row.details)
          row.details->to_json(c);
        // A row names only an actor that is still registered: no dangling ids, even while
        // children start and crash (the dump holds the lock that both changes take).
        if (row.actor != 0 && depth < 64)
          if (auto* a = find_node(row.actor))
            c["actor"] = node_json(row.actor, *a, ctx, depth + 1);
        children.push_back(std::move(c));
      }
    out["children"] = std::move(children);
  }
  return out;
}

nlohmann::json topology_registry::dump(std::vector<std::string>* node_sections) const {
  // Declared before the lock: the last reference to an actor may go away here, and an actor
  // destroyed that way unregisters itself, which takes the lock.
  std::vector<caf::strong_actor_ptr> keep_alive;
  std::lock_guard components_guard{components_mtx_};
  auto guards = lock_every_shard(nodes_);
  dump_context ctx;
  ctx.now = std::chrono::steady_clock::now();
  nlohmann::json out{{"actors", nlohmann::json::array()}};
  for (auto& name : sections_)
    out[name] = nlohmann::json::array();
  for (auto& [token, c] : components_) {
    auto details = c.details ? c.details() : nlohmann::json::object();
    details["name"] = c.name;
    // The actors an entry names as its members list the entry among their subscriptions.
    if (!c.members_key.empty())
      if (auto members = details.find(c.members_key);
          members != details.end() && members->is_array())
        for (auto& member : *members)
          if (auto actor = member.find("actor");
              actor != member.end() && actor->is_number_unsigned())
            ctx.subscriptions[actor->get<caf::actor_id>()].push_back(c.name);
    out[c.section].push_back(std::move(details));
  }
  // Sorted by id, so that dumps of the same system compare equal. Off: nodes are kept for
  // shutdown only (set_enabled).
  std::vector<caf::actor_id> ids;
  if (!off())
    for (auto& s : nodes_.shards())
      s.entries.for_each([&](caf::actor_id id, const node_ptr&) { ids.push_back(id); });
  keep_alive.reserve(ids.size());
  for (auto id : ids) {
    auto& n = *find_node(id);
    auto strong = caf::actor_cast<caf::strong_actor_ptr>(n.addr);
    if (!strong)
      continue;
    auto* actor = caf::actor_cast<caf::abstract_actor*>(strong);
    ctx.actors.emplace(id, actor);
    auto rel = detail::relations_of(*actor);
    keep_alive.push_back(std::move(strong));
    // Only actors of this dump are named, so every id in it resolves; observers outside
    // Troupe (scoped actors, CAF's own) are left out.
    auto unknown = [this](caf::actor_id other) { return find_node(other) == nullptr; };
    std::erase_if(rel.links, unknown);
    std::erase_if(rel.monitored_by, unknown);
    for (auto observer : rel.monitored_by)
      ctx.monitors[observer].push_back(id);
    if (!rel.links.empty() || !rel.monitored_by.empty())
      ctx.relations.emplace(id, std::move(rel));
  }
  std::sort(ids.begin(), ids.end());
  for (auto& [observer, observed] : ctx.monitors)
    std::sort(observed.begin(), observed.end());
  std::set<std::string_view> tree_sections;
  for (auto id : ids) {
    auto& n = *find_node(id);
    // A child whose owner already left the registry is shown free-standing.
    if (parent_of(n) != 0 && find_node(parent_of(n)) != nullptr)
      continue;
    const auto& shape = shape_of(n);
    if (!shape.section.empty())
      tree_sections.insert(shape.section);
    out[shape.section.empty() ? std::string{"actors"} : std::string{shape.section}].push_back(
        node_json(id, n, ctx, 0));
  }
  if (node_sections != nullptr) {
    node_sections->assign(tree_sections.begin(), tree_sections.end());
    node_sections->emplace_back("actors");
  }
  return out;
}

} // namespace troupe
