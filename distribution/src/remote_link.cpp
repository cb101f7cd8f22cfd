#include "troupe/distribution/detail/remote_link.hpp"

#include <algorithm>
#include <unordered_set>
#include <vector>

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
  // CAF drops the link's response handlers and clock entries (the timer's too) as it ends.
  for (auto& [id, f] : std::exchange(in_flight_, {}))
    f.fail(err);
  deadlines_.clear();
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

uint64_t remote_link_base::track(failure fail, caf::timespan timeout, caf::message_id response) {
  auto id = next_id_++;
  auto deadline = deadlines_.end();
  auto now = clock().now();
  // A timeout beyond the clock's range never fires.
  if (timeout < caf::actor_clock::time_point::max() - now)
    deadline = deadlines_.emplace(now + timeout, id);
  in_flight_.emplace(id, flight{std::move(fail), response, deadline});
  arm_timer();
  node_->update_peer(peer_token_, [&](node_state::peer& p) {
    ++p.requests;
    p.in_flight = in_flight_.size();
  });
  return id;
}

void remote_link_base::forget_deadline(flight& f) {
  if (f.deadline != deadlines_.end()) {
    deadlines_.erase(f.deadline);
    f.deadline = deadlines_.end();
  }
}

void remote_link_base::drop_response_handlers(const std::vector<caf::message_id>& responses) {
  if (responses.empty())
    return;
  std::unordered_set<uint64_t> dropped;
  for (auto id : responses)
    dropped.insert(id.integer_value());
  auto& table = multiplexed_responses_;
  table.erase(
      std::remove_if(table.begin(), table.end(),
                     [&](auto& entry) { return dropped.count(entry.first.integer_value()) != 0; }),
      table.end());
}

bool remote_link_base::finish(uint64_t id) {
  // Called from the request's own response handler (which CAF removed before running it),
  // or by a failure that found it still open.
  auto i = in_flight_.find(id);
  if (i == in_flight_.end())
    return false;
  forget_deadline(i->second);
  in_flight_.erase(i);
  node_->update_peer(peer_token_, [&](node_state::peer& p) { p.in_flight = in_flight_.size(); });
  return true;
}

void remote_link_base::arm_timer() {
  // Armed for the earliest deadline or before: a timer that fires before any deadline passed
  // (its request was answered) finds none due and arms for the earliest then. So a request
  // costs the clock nothing unless its deadline is the earliest by far.
  if (deadlines_.empty() || deadlines_.begin()->first >= timer_due_)
    return;
  if (timer_id_.is_response()) {
    clock().cancel_request_timeout(this, timer_id_);
    multiplexed_responses_.erase(timer_id_);
  }
  timer_due_ = deadlines_.begin()->first;
  timer_id_ = new_request_id(caf::message_priority::normal).response_id();
  // Nobody answers this request: the clock's timeout error is its one response.
  add_multiplexed_response_handler(timer_id_,
                                   caf::behavior{[this](caf::error&) { on_deadline(); }});
  clock().set_request_timeout(timer_due_, this, timer_id_);
}

void remote_link_base::on_deadline() {
  timer_due_ = caf::actor_clock::time_point::max();
  timer_id_ = caf::message_id{};
  auto now = clock().now();
  std::vector<caf::message_id> unanswered;
  while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
    auto id = deadlines_.begin()->second;
    deadlines_.erase(deadlines_.begin());
    auto i = in_flight_.find(id);
    if (i == in_flight_.end()) // cannot happen: finish() erases the deadline with the request
      continue;
    auto f = std::move(i->second);
    in_flight_.erase(i);
    unanswered.push_back(f.response);
    count_failure();
    f.fail(make_error(mailbox_errc::request_timeout));
  }
  drop_response_handlers(unanswered);
  node_->update_peer(peer_token_, [&](node_state::peer& p) { p.in_flight = in_flight_.size(); });
  arm_timer();
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
  std::vector<caf::message_id> unanswered;
  unanswered.reserve(failed.size());
  for (auto& [id, f] : failed) {
    forget_deadline(f);
    unanswered.push_back(f.response);
  }
  drop_response_handlers(unanswered);
  for (auto& [id, f] : failed) {
    count_failure();
    f.fail(reason);
  }
  // A supervised link ends here so that its supervisor restarts what depends on the peer;
  // otherwise the next request connects again.
  if (target_.exit_on_loss)
    quit(reason);
}

} // namespace troupe::detail
