#include "troupe/distribution/detail/remote_link.hpp"

#include <algorithm>

#include <caf/all.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/middleman_actor.hpp>

#include "troupe/distribution/detail/connector.hpp"
#include "troupe/distribution/distribution_errc.hpp"
#include "troupe/distribution/node_event_kinds.hpp"
#include "troupe/runtime/runtime.hpp"
#include "troupe/scheduler/errors.hpp"

namespace troupe::detail {

namespace {

std::string where(const link_target& t) {
  auto out = t.host + ":" + std::to_string(t.port);
  if (!t.service.empty())
    out += "/" + t.service;
  return out;
}

// A node.* event about the link `self` and its peer, when the runtime's stream wants `level`.
void publish_node_event(caf::event_based_actor& self, node_state& node, const link_target& t,
                        event_level level, std::string_view kind, std::string text,
                        nlohmann::json fields) {
  auto& events = node.rt().events();
  if (!events.wants(level))
    return;
  event e;
  e.level = level;
  e.kind = kind;
  e.actor = self.id();
  e.name = where(t);
  e.text = std::move(text);
  fields["peer"] = e.name;
  e.fields = std::move(fields);
  events.publish(std::move(e));
}

} // namespace

remote_link_base::remote_link_base(caf::actor_config& cfg, std::shared_ptr<node_state> node,
                                   link_target target, std::vector<std::string> expected_names)
    : caf::event_based_actor(cfg), node_(std::move(node)), target_(std::move(target)),
      expected_names_(std::move(expected_names)), name_("remote:" + where(target_)) {
  node_state::peer row;
  row.host = target_.host;
  row.port = target_.port;
  row.service = target_.service;
  row.state = "idle";
  peer_token_ = node_->add_peer(std::move(row));
  set_down_handler([this](caf::down_msg& msg) {
    if (!service_ || msg.source != service_.address())
      return;
    // CAF reports a connection that dropped as the remote actor's exit with this reason.
    if (msg.reason == caf::exit_reason::remote_link_unreachable)
      lost(make_error(distribution_errc::connection_lost, where(target_)));
    else
      lost(make_error(mailbox_errc::receiver_dead, where(target_), render(msg.reason)));
  });
}

remote_link_base::~remote_link_base() = default;

void remote_link_base::on_exit() {
  auto err = make_error(distribution_errc::connection_lost, where(target_),
                        std::string{"the link stopped"});
  for (auto& [op, fail] : std::exchange(waiting_, {}))
    fail(err);
  for (auto& [id, fail] : std::exchange(in_flight_, {}))
    fail(err);
  node_->remove_peer(peer_token_);
  service_ = nullptr;
  caf::event_based_actor::on_exit();
}

void remote_link_base::report(const char* state) {
  node_->update_peer(peer_token_, [&](node_state::peer& p) {
    p.state = state;
    p.in_flight = in_flight_.size();
    if (service_)
      p.node = to_string(service_.node());
  });
}

void remote_link_base::with_service(operation op, failure fail) {
  if (service_) {
    op(service_);
    return;
  }
  waiting_.emplace_back(std::move(op), std::move(fail));
  if (!connecting_)
    connect();
}

uint64_t remote_link_base::track(failure fail) {
  auto id = next_id_++;
  in_flight_.emplace(id, std::move(fail));
  node_->update_peer(peer_token_, [&](node_state::peer& p) {
    ++p.requests;
    p.in_flight = in_flight_.size();
  });
  return id;
}

bool remote_link_base::finish(uint64_t id) {
  if (in_flight_.erase(id) == 0)
    return false;
  node_->update_peer(peer_token_, [&](node_state::peer& p) { p.in_flight = in_flight_.size(); });
  return true;
}

void remote_link_base::count_failure() {
  node_->update_peer(peer_token_, [](node_state::peer& p) { ++p.failures; });
}

void remote_link_base::connect() {
  connecting_ = true;
  report("connecting");
  auto timeout = node_->options().connect_timeout;
  request(node_->connector(), timeout, caf::connect_atom::value, target_.host, target_.port)
      .then(
          [this, timeout](const caf::node_id&, caf::strong_actor_ptr& handle,
                          const std::set<std::string>&) {
            auto actor = published_actor(where(target_), handle);
            if (!actor) {
              connect_failed(std::move(actor.error()));
              return;
            }
            if (target_.service.empty()) {
              check_types(std::move(*actor));
              return;
            }
            request(*actor, timeout, lookup_atom::value, target_.service)
                .then([this](caf::actor& service) { check_types(std::move(service)); },
                      [this](caf::error& err) { connect_failed(std::move(err)); });
          },
          [this](caf::error& err) { connect_failed(connect_failure(where(target_), err)); });
}

void remote_link_base::check_types(caf::actor service) {
  request(service, node_->options().connect_timeout, describe_atom::value)
      .then(
          [this, service](std::vector<std::string>& names) {
            for (auto& mine : expected_names_)
              if (std::find(names.begin(), names.end(), mine) == names.end()) {
                connect_failed(make_error(distribution_errc::type_mismatch, where(target_),
                                          "the service does not accept " + mine));
                return;
              }
            connected(service);
          },
          [this](caf::error& err) {
            connect_failed(make_error(distribution_errc::node_down, where(target_), render(err)));
          });
}

void remote_link_base::connected(caf::actor service) {
  connecting_ = false;
  service_ = std::move(service);
  monitor(service_);
  report("connected");
  if (node_->rt().events().wants(event_level::info)) {
    auto peer_node = to_string(service_.node());
    publish_node_event(*this, *node_, target_, event_level::info, event_kinds::node_connected,
                       "connected to node " + peer_node, {{"node", peer_node}});
  }
  for (auto& [op, fail] : std::exchange(waiting_, {}))
    op(service_);
}

void remote_link_base::connect_failed(caf::error err) {
  connecting_ = false;
  report("down");
  if (node_->rt().events().wants(event_level::warning)) {
    auto reason = render(err);
    publish_node_event(*this, *node_, target_, event_level::warning,
                       event_kinds::node_connect_failed, "connection failed: " + reason,
                       {{"reason", reason}});
  }
  for (auto& [op, fail] : std::exchange(waiting_, {})) {
    count_failure();
    fail(err);
  }
}

void remote_link_base::lost(caf::error reason) {
  demonitor(service_);
  service_ = nullptr;
  auto failed = std::exchange(in_flight_, {});
  report("lost");
  if (node_->rt().events().wants(event_level::warning)) {
    auto rendered = render(reason);
    publish_node_event(*this, *node_, target_, event_level::warning, event_kinds::node_lost,
                       "lost: " + rendered, {{"reason", rendered}});
  }
  for (auto& [id, fail] : failed) {
    count_failure();
    fail(reason);
  }
  // A supervised link ends here so that its supervisor restarts what depends on the peer;
  // otherwise the next request connects again.
  if (target_.exit_on_loss)
    quit(reason);
}

} // namespace troupe::detail
