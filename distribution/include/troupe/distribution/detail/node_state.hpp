#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <nlohmann/json.hpp>

#include "troupe/distribution/network_options.hpp"

namespace troupe {
class runtime;
} // namespace troupe

namespace troupe::detail {

class gate;

/// What a node knows about itself and its peers, shared by the node handle, its registry
/// actor, its gateways and its links; the topology dump reads it.
///
/// Thread safety: every member function may be called from any thread.
class node_state {
public:
  /// `g` is null when TLS carries the connections (they do not pass the gate).
  node_state(runtime& rt, network_options opts, std::shared_ptr<gate> g)
      : rt_(rt), opts_(std::move(opts)), gate_(std::move(g)) {}

  [[nodiscard]] runtime& rt() const noexcept { return rt_; }
  [[nodiscard]] const network_options& options() const noexcept { return opts_; }
  [[nodiscard]] const std::shared_ptr<gate>& gate_ptr() const noexcept { return gate_; }

  /// The actor that opens this node's connections (connector.hpp, spawn_connector). Set once, by
  /// node::start, before the state is shared.
  void set_connector(caf::actor x) noexcept { connector_ = std::move(x); }
  [[nodiscard]] const caf::actor& connector() const noexcept { return connector_; }

  /// A published service: what the registry answers for `name`.
  struct service {
    caf::actor gateway;
    std::string kind;    // "mailbox", "topic", "actor"
    uint64_t target = 0; // the published actor's id when there is one
  };

  /// False when the name is taken.
  bool add_service(const std::string& name, service s);
  [[nodiscard]] caf::actor find_service(const std::string& name) const;
  void add_port(uint16_t port, const std::string& what);

  /// A peer as one link sees it; links report their own rows.
  struct peer {
    std::string host;
    uint16_t port = 0;
    std::string service;
    std::string state; // "connecting", "connected", "lost", "down"
    std::string node;  // CAF's node id, once connected
    uint64_t in_flight = 0;
    uint64_t requests = 0;
    uint64_t failures = 0;
  };
  uint64_t add_peer(peer p);
  void update_peer(uint64_t token, const std::function<void(peer&)>& change);
  void remove_peer(uint64_t token);

  /// Adds `n` to a named counter (shown under "counters" in the topology).
  void count(const std::string& key, uint64_t n);
  [[nodiscard]] uint64_t counter(const std::string& key) const;

  /// Listening ports, published services and peers, for the topology ("network").
  [[nodiscard]] nlohmann::json describe() const;

private:
  runtime& rt_;
  network_options opts_;
  std::shared_ptr<gate> gate_;
  caf::actor connector_;
  mutable std::mutex mtx_;
  std::map<std::string, service> services_;
  std::vector<std::pair<uint16_t, std::string>> ports_;
  std::map<uint64_t, peer> peers_;
  std::map<std::string, uint64_t> counters_;
  uint64_t next_peer_ = 1;
};

} // namespace troupe::detail
