#include "troupe/scheduler/detail/topology_registry.hpp"

#include <algorithm>
#include <vector>

namespace troupe::detail {

void topology_registry::add_actor(caf::actor_id id, std::string name) {
  if (off())
    return;
  std::lock_guard guard{mtx_};
  auto& n = nodes_[id]; // may exist already: described during its construction
  n.name = std::move(name);
  n.started = std::chrono::steady_clock::now();
}

void topology_registry::remove_actor(caf::actor_id id) {
  if (off())
    return;
  std::lock_guard guard{mtx_};
  nodes_.erase(id);
}

void topology_registry::describe(caf::actor_id id, std::string kind, provider mailbox) {
  if (off())
    return;
  std::lock_guard guard{mtx_};
  // Creates the node if the actor is not added yet: an actor may describe itself while it is
  // constructed, before runtime::spawn registers it.
  auto& n = nodes_[id];
  n.kind = std::move(kind);
  if (mailbox)
    n.mailbox = std::move(mailbox);
}

void topology_registry::set_child(caf::actor_id supervisor, uint64_t serial, child_row row) {
  if (off())
    return;
  std::lock_guard guard{mtx_};
  auto i = nodes_.try_emplace(supervisor).first;
  if (row.actor != 0)
    if (auto c = nodes_.find(row.actor); c != nodes_.end())
      c->second.parent = supervisor;
  i->second.children[serial] = std::move(row);
}

void topology_registry::remove_child(caf::actor_id supervisor, uint64_t serial) {
  if (off())
    return;
  std::lock_guard guard{mtx_};
  if (auto i = nodes_.find(supervisor); i != nodes_.end())
    i->second.children.erase(serial);
}

uint64_t topology_registry::add_component(std::string section, std::string name, provider details) {
  std::lock_guard guard{mtx_};
  auto token = next_token_++;
  components_.emplace(token, component{std::move(section), std::move(name), std::move(details)});
  return token;
}

void topology_registry::remove_component(uint64_t token) {
  std::lock_guard guard{mtx_};
  components_.erase(token);
}

std::size_t topology_registry::size() const {
  std::lock_guard guard{mtx_};
  return nodes_.size();
}

nlohmann::json topology_registry::node_json(caf::actor_id id, const node& n,
                                            std::chrono::steady_clock::time_point now,
                                            int depth) const {
  nlohmann::json out{
      {"id", id},
      {"name", n.name},
      {"kind", n.kind},
      {"parent", n.parent == 0 ? nlohmann::json(nullptr) : nlohmann::json(n.parent)},
      {"uptime_ms", std::chrono::duration_cast<std::chrono::milliseconds>(now - n.started).count()},
  };
  if (n.mailbox)
    out["mailbox"] = n.mailbox();
  if (n.kind == "supervisor") {
    auto children = nlohmann::json::array();
    for (auto& [serial, row] : n.children) {
      nlohmann::json c{{"id", row.id},
                       {"state", row.state},
                       {"restart", row.restart},
                       {"restarts", row.restarts},
                       {"last_exit_reason", row.last_exit_reason.empty()
                                                ? nlohmann::json(nullptr)
                                                : nlohmann::json(row.last_exit_reason)},
                       {"supervisor", row.is_supervisor},
                       {"actor", nullptr}};
      // A row names only an actor that is still registered: no dangling ids, even while
      // children start and crash (the dump holds the lock that both changes take).
      if (row.actor != 0 && depth < 64)
        if (auto a = nodes_.find(row.actor); a != nodes_.end())
          c["actor"] = node_json(row.actor, a->second, now, depth + 1);
      children.push_back(std::move(c));
    }
    out["children"] = std::move(children);
  }
  return out;
}

nlohmann::json topology_registry::dump() const {
  std::lock_guard guard{mtx_};
  auto now = std::chrono::steady_clock::now();
  auto trees = nlohmann::json::array();
  auto free_actors = nlohmann::json::array();
  // Sorted by id, so that dumps of the same system compare equal.
  std::vector<caf::actor_id> ids;
  ids.reserve(nodes_.size());
  for (auto& kv : nodes_)
    ids.push_back(kv.first);
  std::sort(ids.begin(), ids.end());
  for (auto id : ids) {
    auto& n = nodes_.at(id);
    // A child whose supervisor already left the registry is shown free-standing.
    if (n.parent != 0 && nodes_.count(n.parent) != 0)
      continue;
    if (n.kind == "supervisor")
      trees.push_back(node_json(id, n, now, 0));
    else
      free_actors.push_back(node_json(id, n, now, 0));
  }
  nlohmann::json out{{"supervision", std::move(trees)},
                     {"actors", std::move(free_actors)},
                     {"topics", nlohmann::json::array()},
                     {"pools", nlohmann::json::array()}};
  for (auto& [token, c] : components_) {
    auto details = c.details ? c.details() : nlohmann::json::object();
    details["name"] = c.name;
    out[c.section].push_back(std::move(details));
  }
  return out;
}

} // namespace troupe::detail
