#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <caf/expected.hpp>
#include <nlohmann/json.hpp>

#include "troupe/distribution/detail/gateway.hpp"
#include "troupe/distribution/detail/node_state.hpp"
#include "troupe/distribution/detail/protocol.hpp"
#include "troupe/distribution/detail/remote_link.hpp"
#include "troupe/distribution/distribution_errc.hpp"
#include "troupe/distribution/network_options.hpp"
#include "troupe/distribution/remote_mailbox.hpp"
#include "troupe/mailbox/mailbox.hpp"
#include "troupe/runtime/runtime.hpp"
#include "troupe/scheduler/errors.hpp"
#include "troupe/scheduler/result.hpp"

namespace troupe {

/// How node::lookup and node::connect connect.
struct lookup_options {
  /// Connect at once, so that an unreachable node or unknown service is an error here (true),
  /// or at the first request (false).
  bool connect_now = true;
  /// The handle's actor ends with connection_lost when the connection drops, instead of
  /// connecting again at the next request: for links under a supervisor, which then restarts
  /// the link and the children that depend on it.
  bool exit_on_loss = false;
};

/// A runtime's presence on the network, over CAF's middleman (libcaf_io; TLS through
/// libcaf_openssl): it publishes typed mailboxes — by name through the node's registry, or each
/// on its own port — and finds the ones of other nodes. Everything it publishes and every peer
/// it talks to appears in the topology under "network".
///
///   troupe::network_setup net;                     // both sides: same types, same names
///   net.announce<add>("add");
///   troupe::runtime rt{cfg, net.customizer()};
///   auto node = troupe::node::start(rt, net).value();
///   // server
///   node.publish("calc", calc_mailbox);
///   uint16_t port = node.listen(4000).value();     // 127.0.0.1 unless bind_address says else
///   // client (another process or machine)
///   auto calc = node.lookup<add>("127.0.0.1", 4000, "calc").value();
///   troupe::result<int> sum = calc.ask(add{1, 2}, std::chrono::seconds{1});
///
/// Without TLS every connection passes the node's gate first (detail/gate.hpp): both nodes
/// prove that they know network_options::secret, within handshake_timeout, and messages over
/// max_message_size are refused.
///
/// Errors: distribution_errc (node_down, authentication_failed, not_published, type_mismatch,
/// not_serializable, publish_failed, network_disabled, invalid_config), and those of the
/// requests themselves.
/// Thread safety: any thread outside actors (the calls that connect wait for the network).
class node {
public:
  /// Errors: network_disabled when `rt` was not made with setup.customizer();
  /// invalid_config naming the option.
  static troupe::result<node> start(runtime& rt, const network_setup& setup);

  /// Opens the node's own port (0: a free one) serving its registry of published names;
  /// returns the port. Errors: publish_failed (port in use, address not bindable).
  [[nodiscard]] troupe::result<uint16_t> listen(uint16_t port = 0) const;

  /// Publishes `mb` under `name` in the node's registry. Errors: publish_failed (name taken),
  /// not_serializable (a message or reply type is not announced).
  template <class... Ts>
  caf::error publish(const std::string& name, const mailbox<Ts...>& mb) const {
    return publish<Ts...>(name, std::function<mailbox<Ts...>()>{[mb] { return mb; }}, mb.id());
  }

  /// Publishes a service whose mailbox changes, such as a supervised child that is restarted:
  /// each request goes to the mailbox `current()` returns at that moment (it must be
  /// thread-safe; a slot the child's factory writes will do).
  template <class... Ts>
  caf::error publish(const std::string& name, std::function<mailbox<Ts...>()> current,
                     caf::actor_id shown_as = 0) const {
    if (auto err = check_types<Ts...>())
      return err;
    auto gw = state_->rt().spawn(detail::gateway<Ts...>, std::move(current),
                                 detail::wire_names<Ts...>(state_->rt().system()),
                                 state_->options().service_timeout);
    if (!state_->add_service(name, {gw, "mailbox", shown_as})) {
      caf::anon_send_exit(gw, caf::exit_reason::user_shutdown);
      return make_error(distribution_errc::publish_failed, name, std::string{"the name is taken"});
    }
    return caf::none;
  }

  /// Publishes `mb` alone on `port` (0: a free one); returns the port. Clients use connect().
  template <class... Ts>
  troupe::result<uint16_t> publish_at(const mailbox<Ts...>& mb, uint16_t port = 0) const {
    if (auto err = check_types<Ts...>())
      return err;
    std::function<mailbox<Ts...>()> current = [mb] { return mb; };
    auto gw = state_->rt().spawn(detail::gateway<Ts...>, std::move(current),
                                 detail::wire_names<Ts...>(state_->rt().system()),
                                 state_->options().service_timeout);
    auto bound = open(gw, port, "mailbox #" + std::to_string(mb.id()));
    if (!bound)
      caf::anon_send_exit(gw, caf::exit_reason::user_shutdown);
    return bound;
  }

  /// The service `name` published at the node `host`:`port` (its listen() port).
  /// Errors: node_down, authentication_failed (the secrets differ), not_published,
  /// type_mismatch, not_serializable.
  template <class... Ts>
  troupe::result<remote_mailbox<Ts...>> lookup(std::string host, uint16_t port, std::string name,
                                               lookup_options opts = {}) const {
    return make_remote<Ts...>(
        detail::link_target{std::move(host), port, std::move(name), opts.exit_on_loss},
        opts.connect_now);
  }

  /// The mailbox published alone at `host`:`port` (publish_at).
  template <class... Ts>
  troupe::result<remote_mailbox<Ts...>> connect(std::string host, uint16_t port,
                                                lookup_options opts = {}) const {
    return make_remote<Ts...>(detail::link_target{std::move(host), port, {}, opts.exit_on_loss},
                              opts.connect_now);
  }

  /// Listening ports, published services and peers (also in runtime::topology()).
  [[nodiscard]] nlohmann::json describe() const { return state_->describe(); }

  /// The runtime the node runs on.
  [[nodiscard]] runtime& rt() const noexcept { return state_->rt(); }

  /// Connects to `host`:`port` and asks its registry for `service` (empty: the actor
  /// published alone on that port); waits up to the connect timeout. Internal to the
  /// distribution component (remote topics use it).
  [[nodiscard]] troupe::result<caf::actor> find_remote(const std::string& host, uint16_t port,
                                                       const std::string& service) const;

  /// Internal to the distribution component.
  [[nodiscard]] const std::shared_ptr<detail::node_state>& state() const noexcept { return state_; }

private:
  explicit node(std::shared_ptr<detail::node_state> state) : state_(std::move(state)) {}

  template <class... Ts>
  caf::error check_types() const {
    for (auto& missing : {detail::unannounced<Ts>(state_->rt().system())...})
      if (!missing.empty())
        return make_error(distribution_errc::not_serializable, missing,
                          std::string{"announce it with network_setup::announce"});
    return caf::none;
  }

  template <class... Ts>
  caf::expected<remote_mailbox<Ts...>> make_remote(detail::link_target target,
                                                   bool connect_now) const {
    if (auto err = check_types<Ts...>())
      return err;
    auto address = target.host + ":" + std::to_string(target.port) +
                   (target.service.empty() ? "" : "/" + target.service);
    auto link = state_->rt().spawn<detail::remote_link<Ts...>>(
        state_, std::move(target), detail::wire_names<Ts...>(state_->rt().system()));
    if (connect_now)
      if (auto err = wait_connected(link)) {
        caf::anon_send_exit(link, caf::exit_reason::user_shutdown);
        return err;
      }
    return remote_mailbox<Ts...>{std::move(link), std::move(address)};
  }

  caf::error wait_connected(const caf::actor& link) const;
  caf::expected<uint16_t> open(const caf::actor& whom, uint16_t port,
                               const std::string& what) const;

  std::shared_ptr<detail::node_state> state_;
  caf::actor registry_;
};

} // namespace troupe
