#include "troupe/distribution/node.hpp"

#include <caf/all.hpp>
#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>
#include <caf/openssl/publish.hpp>

#include "troupe/distribution/detail/connector.hpp"
#include "troupe/distribution/detail/gate.hpp"
#include "troupe/distribution/detail/node_state.hpp"

namespace troupe {

namespace {

// The actor a node's port serves: names to published services.
caf::behavior registry(caf::event_based_actor*, std::shared_ptr<detail::node_state> state) {
  return {
      [state](detail::lookup_atom, const std::string& name) -> caf::result<caf::actor> {
        if (auto found = state->find_service(name))
          return found;
        return make_error(distribution_errc::not_published, name);
      },
      [](detail::describe_atom) { return std::vector<std::string>{}; },
  };
}

} // namespace

troupe::result<node> node::start(runtime& rt, const network_setup& setup) {
  if (auto err = setup.options().validate())
    return err;
  if (!rt.system().has_middleman())
    return make_error(distribution_errc::network_disabled,
                      std::string{"create the runtime with network_setup::customizer()"});
  if (setup.options().tls.enabled && !rt.system().has_openssl_manager())
    return make_error(distribution_errc::network_disabled,
                      std::string{"TLS is enabled but the runtime was made without it"});
  std::shared_ptr<detail::gate> gate;
  if (!setup.options().tls.enabled) {
    auto made = detail::gate::make(rt.system(), setup.options());
    if (!made)
      return std::move(made.error());
    gate = std::move(*made);
  }
  auto opener = gate ? gate->connector()
                     : caf::actor_cast<caf::actor>(rt.system().openssl_manager().actor_handle());
  auto state = std::make_shared<detail::node_state>(rt, setup.options(), std::move(gate));
  state->set_connector(detail::spawn_connector(rt.system(), std::move(opener), setup.options(),
                                               [weak = std::weak_ptr<detail::node_state>{state}] {
                                                 if (auto s = weak.lock())
                                                   s->count("connect_retries", 1);
                                               }));
  node result{state};
  result.registry_ = rt.spawn(registry, state);
  // The registry lives as long as the runtime, like the node's entry in the topology.
  rt.registry().add_component("network", "node", [weak = std::weak_ptr<detail::node_state>{state}] {
    auto s = weak.lock();
    return s ? s->describe() : nlohmann::json::object();
  });
  return result;
}

troupe::result<uint16_t> node::listen(uint16_t port) const {
  return open(registry_, port, "registry");
}

caf::expected<uint16_t> node::open(const caf::actor& whom, uint16_t port,
                                   const std::string& what) const {
  const auto& opts = state_->options();
  // SO_REUSEADDR, so that a restarted server gets its port back while connections of its
  // previous run linger in TIME_WAIT (Linux still refuses a port another socket listens on).
  if (!opts.tls.enabled) {
    auto bound = state_->gate_ptr()->listen(whom, port, opts.bind_address);
    if (bound)
      state_->add_port(*bound, what);
    return bound;
  }
  auto bound = caf::openssl::publish(whom, port, opts.bind_address.c_str(), true);
  if (!bound)
    return make_error(distribution_errc::publish_failed,
                      opts.bind_address + ":" + std::to_string(port), render(bound.error()));
  state_->add_port(*bound, what);
  return *bound;
}

caf::error node::wait_connected(const caf::actor& link) const {
  caf::scoped_actor self{state_->rt().system()};
  caf::error result;
  // The link's own timeouts (connect, lookup, type check: one connect timeout each) end the
  // wait; this one only guards against a link that never answers.
  self->request(link, state_->options().connect_timeout * 3 + std::chrono::seconds{1},
                detail::connect_now_atom::value)
      .receive([](bool) {}, [&](caf::error& err) { result = detail::translate(std::move(err)); });
  return result;
}

troupe::result<caf::actor> node::find_remote(const std::string& host, uint16_t port,
                                             const std::string& service) const {
  auto& sys = state_->rt().system();
  const auto& opts = state_->options();
  auto where = host + ":" + std::to_string(port);
  caf::scoped_actor self{sys};
  caf::expected<caf::actor> result{caf::actor{}};
  self->request(state_->connector(), opts.connect_timeout, caf::connect_atom::value, host, port)
      .receive(
          [&](const caf::node_id&, caf::strong_actor_ptr& handle, const std::set<std::string>&) {
            result = detail::published_actor(where, handle);
          },
          [&](caf::error& err) { result = detail::connect_failure(where, err); });
  if (!result || service.empty())
    return result;
  auto registry = *result;
  self->request(registry, opts.connect_timeout, detail::lookup_atom::value, service)
      .receive([&](caf::actor& found) { result = std::move(found); },
               [&](caf::error& err) { result = detail::translate(std::move(err)); });
  return result;
}

} // namespace troupe
