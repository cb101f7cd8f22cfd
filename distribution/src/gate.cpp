#include "troupe/distribution/detail/gate.hpp"

#include <map>
#include <set>

#include <caf/actor_cast.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/io/basp_broker.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/network/default_multiplexer.hpp>
#include <caf/stateful_actor.hpp>

#include "troupe/distribution/detail/gate_atoms.hpp"
#include "troupe/distribution/detail/gated_doorman.hpp"
#include "troupe/distribution/detail/gated_scribe.hpp"
#include "troupe/distribution/distribution_errc.hpp"
#include "troupe/scheduler/errors.hpp"

namespace troupe::detail {

namespace {

using connect_result = caf::result<caf::node_id, caf::strong_actor_ptr, std::set<std::string>>;

struct keeper_state {
  // By id, which grows with each connection: begin() is the oldest.
  std::map<uint64_t, caf::intrusive_ptr<gated_scribe>> watched;
  static inline const char* name = "troupe.gate.keeper";
};

// Closes connections that are still handshaking when their deadline passes (gate.hpp, step 7).
caf::behavior keeper(caf::stateful_actor<keeper_state>* self, std::chrono::milliseconds timeout,
                     size_t max_pending) {
  return {
      [=](gate_watch_atom, caf::intrusive_ptr<gated_scribe>& scribe) {
        auto id = scribe->id();
        auto& watched = self->state.watched;
        watched.emplace(id, std::move(scribe));
        self->delayed_send(self, timeout, gate_expire_atom::value, id);
        while (watched.size() > max_pending) {
          watched.begin()->second->post_expire(gate_outcome::evicted);
          watched.erase(watched.begin());
        }
      },
      [=](gate_unwatch_atom, uint64_t id) { self->state.watched.erase(id); },
      [=](gate_expire_atom, uint64_t id) {
        auto i = self->state.watched.find(id);
        if (i == self->state.watched.end())
          return;
        i->second->post_expire(gate_outcome::timeout);
        self->state.watched.erase(i);
      },
  };
}

// Connects like CAF's middleman actor, but through the gate (gate.hpp, step 1). Detached, as
// CAF's middleman actor is, because connecting blocks.
caf::behavior connector_actor(caf::event_based_actor* self, std::shared_ptr<gate_settings> settings,
                              caf::actor basp, caf::io::network::default_multiplexer* mpx) {
  return {
      [=](caf::connect_atom, const std::string& host, uint16_t port) -> connect_result {
        auto fd = caf::io::network::new_tcp_connection(host, port);
        if (!fd)
          return std::move(fd.error());
        auto scribe = caf::make_counted<gated_scribe>(*mpx, *fd, gate_role::client, settings);
        auto rp = self->make_response_promise<caf::node_id, caf::strong_actor_ptr,
                                              std::set<std::string>>();
        auto where = host + ":" + std::to_string(port);
        self->request(basp, caf::infinite, caf::connect_atom::value, caf::io::scribe_ptr{scribe},
                      port)
            .then(
                [rp](caf::node_id& nid, caf::strong_actor_ptr& handle,
                     std::set<std::string>& sigs) mutable {
                  rp.deliver(std::move(nid), std::move(handle), std::move(sigs));
                },
                [rp, scribe, where](caf::error& err) mutable {
                  // The scribe recorded why the gate closed the connection before BASP's
                  // broker reported it, and the report came through the broker's mailbox.
                  auto why = scribe->outcome();
                  if (why == gate_outcome::authentication_failed)
                    rp.deliver(make_error(distribution_errc::authentication_failed, where,
                                          std::string{"the node refused this node's secret"}));
                  else if (why == gate_outcome::malformed || why == gate_outcome::timeout)
                    rp.deliver(make_error(distribution_errc::node_down, where,
                                          std::string{"gate handshake: "} + to_string(why)));
                  else
                    rp.deliver(std::move(err));
                });
        return rp;
      },
  };
}

} // namespace

void gate_settings::count(gate_outcome x) noexcept {
  switch (x) {
  case gate_outcome::authenticated:
    authenticated.fetch_add(1, std::memory_order_relaxed);
    break;
  case gate_outcome::malformed:
    malformed.fetch_add(1, std::memory_order_relaxed);
    break;
  case gate_outcome::authentication_failed:
    authentication_failed.fetch_add(1, std::memory_order_relaxed);
    break;
  case gate_outcome::timeout:
    timeout.fetch_add(1, std::memory_order_relaxed);
    break;
  case gate_outcome::evicted:
    evicted.fetch_add(1, std::memory_order_relaxed);
    break;
  case gate_outcome::oversized:
    oversized.fetch_add(1, std::memory_order_relaxed);
    break;
  case gate_outcome::none:
    break;
  }
}

caf::expected<std::shared_ptr<gate>> gate::make(caf::actor_system& sys,
                                                const network_options& opts) {
  auto& mm = sys.middleman();
  auto* mpx = dynamic_cast<caf::io::network::default_multiplexer*>(&mm.backend());
  if (mpx == nullptr)
    return make_error(distribution_errc::network_disabled,
                      std::string{"the gate needs CAF's default multiplexer"});
  auto settings = std::make_shared<gate_settings>();
  settings->secret = opts.secret;
  settings->max_message_size = opts.max_message_size;
  settings->handshake_timeout = opts.handshake_timeout;
  auto keeper_actor =
      sys.spawn<caf::hidden>(keeper, opts.handshake_timeout, opts.max_pending_handshakes);
  settings->keeper = keeper_actor.address();
  auto basp = mm.named_broker<caf::io::basp_broker>(caf::atom("BASP"));
  auto connector = sys.spawn<caf::detached + caf::hidden>(connector_actor, settings, basp, mpx);
  return std::shared_ptr<gate>{new gate(sys, std::move(settings), std::move(keeper_actor),
                                        std::move(connector), std::move(basp))};
}

caf::expected<uint16_t> gate::listen(const caf::actor& whom, uint16_t port,
                                     const std::string& address) const {
  auto where = address + ":" + std::to_string(port);
  auto* mpx = dynamic_cast<caf::io::network::default_multiplexer*>(&sys_.middleman().backend());
  auto fd = caf::io::network::new_tcp_acceptor_impl(port, address.c_str(), true);
  if (!fd)
    return make_error(distribution_errc::publish_failed, where, render(fd.error()));
  auto doorman = caf::make_counted<gated_doorman>(*mpx, *fd, settings_);
  auto actual = doorman->port();
  // As CAF's middleman actor publishes: the broker adopts the doorman and answers handshakes
  // on this port with `whom`.
  caf::anon_send(basp_, caf::publish_atom::value, caf::io::doorman_ptr{std::move(doorman)}, actual,
                 caf::actor_cast<caf::strong_actor_ptr>(whom), std::set<std::string>{});
  return actual;
}

nlohmann::json gate::counters() const {
  const auto& s = *settings_;
  return {{"gate.accepted", s.accepted.load()},
          {"gate.authenticated", s.authenticated.load()},
          {"gate.malformed", s.malformed.load()},
          {"gate.authentication_failed", s.authentication_failed.load()},
          {"gate.timeout", s.timeout.load()},
          {"gate.evicted", s.evicted.load()},
          {"gate.oversized", s.oversized.load()}};
}

} // namespace troupe::detail
