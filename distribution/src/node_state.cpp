#include "troupe/distribution/detail/node_state.hpp"

#include "troupe/distribution/detail/gate.hpp"

namespace troupe::detail {

bool node_state::add_service(const std::string& name, service s) {
  std::lock_guard guard{mtx_};
  return services_.emplace(name, std::move(s)).second;
}

caf::actor node_state::find_service(const std::string& name) const {
  std::lock_guard guard{mtx_};
  auto i = services_.find(name);
  return i == services_.end() ? caf::actor{} : i->second.gateway;
}

void node_state::add_port(uint16_t port, const std::string& what) {
  std::lock_guard guard{mtx_};
  ports_.emplace_back(port, what);
}

uint64_t node_state::add_peer(peer p) {
  std::lock_guard guard{mtx_};
  auto token = next_peer_++;
  peers_.emplace(token, std::move(p));
  return token;
}

void node_state::update_peer(uint64_t token, const std::function<void(peer&)>& change) {
  std::lock_guard guard{mtx_};
  if (auto i = peers_.find(token); i != peers_.end())
    change(i->second);
}

void node_state::remove_peer(uint64_t token) {
  std::lock_guard guard{mtx_};
  peers_.erase(token);
}

void node_state::count(const std::string& key, uint64_t n) {
  std::lock_guard guard{mtx_};
  counters_[key] += n;
}

uint64_t node_state::counter(const std::string& key) const {
  std::lock_guard guard{mtx_};
  auto i = counters_.find(key);
  return i == counters_.end() ? 0 : i->second;
}

nlohmann::json node_state::describe() const {
  std::lock_guard guard{mtx_};
  auto listening = nlohmann::json::array();
  for (auto& [port, what] : ports_)
    listening.push_back({{"port", port}, {"serves", what}});
  auto published = nlohmann::json::array();
  for (auto& [name, s] : services_)
    published.push_back(
        {{"name", name},
         {"kind", s.kind},
         {"gateway", s.gateway.id()},
         {"actor", s.target == 0 ? nlohmann::json(nullptr) : nlohmann::json(s.target)}});
  auto peers = nlohmann::json::array();
  for (auto& [token, p] : peers_)
    peers.push_back({{"host", p.host},
                     {"port", p.port},
                     {"service", p.service},
                     {"state", p.state},
                     {"node", p.node},
                     {"in_flight", p.in_flight},
                     {"requests", p.requests},
                     {"failures", p.failures}});
  nlohmann::json counters = counters_;
  if (gate_)
    counters.update(gate_->counters());
  return {{"bind_address", opts_.bind_address},
          {"tls", opts_.tls.enabled},
          {"heartbeat_ms", opts_.heartbeat.count()},
          {"listening", std::move(listening)},
          {"published", std::move(published)},
          {"peers", std::move(peers)},
          {"secret", !opts_.secret.empty()},
          {"max_message_size", opts_.max_message_size},
          {"handshake_timeout_ms", opts_.handshake_timeout.count()},
          {"max_pending_handshakes", opts_.max_pending_handshakes},
          {"counters", std::move(counters)}};
}

} // namespace troupe::detail
