#pragma once

// Topics across nodes. The node that owns a topic publishes it; a subscriber's node gets a
// local mirror topic that receives everything published, in publish order, and its own
// subscribers subscribe to the mirror as to any topic.
//
// Between the two, a forwarder on the owner's node keeps a window of messages in flight to the
// mirror (the mirror acknowledges them as it takes them) and holds at most the topic's
// capacity more; a mirror that falls further behind loses the oldest and is told exactly how
// many it missed, as a local subscriber would be (lag_policy::disconnect ends it instead).
// Closing the owner's topic closes every mirror after the messages published before the close
// (a topic closed before the subscription came closes the mirror at once). A
// partition is reported on both sides: the mirror's on_lost runs with connection_lost, the
// owner's forwarder ends and leaves the topic, and both topologies show it.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <caf/detail/pretty_type_name.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>

#include "troupe/actors/topic.hpp"
#include "troupe/distribution/detail/node_state.hpp"
#include "troupe/distribution/detail/protocol.hpp"
#include "troupe/distribution/distribution_errc.hpp"
#include "troupe/distribution/node.hpp"
#include "troupe/scheduler/errors.hpp"
#include "troupe/scheduler/result.hpp"

namespace troupe {

/// How a remote topic is followed.
struct remote_topic_options {
  /// Messages in flight to the mirror before it acknowledges (the network's share of the
  /// subscriber's bound; the owner's topic capacity adds to it).
  uint64_t window = 256;
  /// The mirror's own ring, for its local subscribers.
  std::size_t capacity = 1024;
  /// Runs on the mirror's actor when the owner dropped messages for it (it fell behind).
  std::function<void(lagged)> on_lag;
  /// Runs on the mirror's actor when the subscription ended: connection_lost (partition, the
  /// owner's node went away), subscriber_lagged (lag_policy::disconnect), topic_errc::closed
  /// (the owner closed the topic; the mirror is closed too, so its own subscribers read what
  /// came before the close and then get their closed notice).
  std::function<void(caf::error)> on_lost;
};

/// A subscription to another node's topic: its local mirror, and the actor that feeds it
/// (monitor it to hear when the subscription ends).
template <class T>
struct remote_topic {
  /// A local topic that republishes the remote topic's messages: subscribe to it as to any
  /// topic.
  topic<T> mirror;
  /// The local actor that receives the messages and publishes them on `mirror`; it exits when
  /// the subscription ends.
  caf::actor feeder;
};

namespace detail {

using feeder_atom = caf::atom_constant<caf::atom("tr_feeder")>;

/// On the owner's node: one per remote subscriber, itself a (forward) subscriber of the topic.
template <class T>
caf::behavior topic_forwarder(caf::event_based_actor* self, topic<T> source, caf::actor mirror,
                              uint64_t window, std::shared_ptr<node_state> node) {
  struct state {
    uint64_t credit = 0;
    std::deque<T> buffer;
    uint64_t missed = 0;
    // Set when the topic closed: passed on to the mirror once the buffer is delivered.
    std::optional<caf::error> closed;
    // The close went to the mirror: this actor now only waits for the mirror to end.
    bool end_sent = false;
  };
  auto st = std::make_shared<state>();
  st->credit = window;
  const auto capacity = std::max<std::size_t>(source.options().capacity, 1);
  const bool disconnect = source.options().on_lag == lag_policy::disconnect;
  auto deliver = [self, mirror, st](T& value) {
    if (st->missed > 0)
      self->send(mirror, lagged_atom::value, std::exchange(st->missed, 0));
    self->send(mirror, std::move(value));
    --st->credit;
  };
  self->monitor(mirror);
  // A mirror that went away (its node, or the connection) ends this subscription.
  const auto key = "topic:" + source.name();
  self->set_down_handler([self, node, key, st](caf::down_msg& msg) {
    if (msg.reason == caf::exit_reason::remote_link_unreachable)
      node->count(key + ".subscribers_lost", 1);
    // After the end went out, the mirror ending is the expected finish, not a failure.
    self->quit(st->end_sent ? caf::error{} : msg.reason);
  });
  // Sends the close on once everything before it reached the mirror. This actor then stays
  // until the mirror ends (the down handler above): ending here could let the mirror see this
  // actor go (a down message from its node's proxy) before the close, and report a loss.
  auto pass_close_on = [self, mirror, st] {
    if (!st->closed || !st->buffer.empty() || st->end_sent)
      return;
    if (st->missed > 0)
      self->send(mirror, lagged_atom::value, std::exchange(st->missed, 0));
    self->send(mirror, closed_atom::value, std::move(*st->closed));
    st->end_sent = true;
  };
  if (auto err = source.subscribe(caf::actor_cast<caf::actor>(self), with_closed_notice)) {
    // Closed before this subscriber came: the mirror closes at once.
    st->closed = std::move(err);
    pass_close_on();
  }
  return {
      [=](T& value) {
        if (st->credit > 0 && st->buffer.empty()) {
          deliver(value);
          return;
        }
        st->buffer.push_back(std::move(value));
        if (st->buffer.size() <= capacity)
          return;
        st->buffer.pop_front();
        ++st->missed;
        node->count(key + ".dropped", 1);
        if (disconnect) {
          self->send(mirror, closed_atom::value,
                     make_error(topic_errc::subscriber_lagged, source.name(), st->missed));
          self->quit();
        }
      },
      [=](ack_atom, uint64_t n) {
        st->credit += n;
        while (st->credit > 0 && !st->buffer.empty()) {
          deliver(st->buffer.front());
          st->buffer.pop_front();
        }
        pass_close_on();
      },
      [=](topic_closed_atom, caf::error& reason) {
        st->closed = std::move(reason);
        pass_close_on();
      },
  };
}

/// On the owner's node: what the registry names "topic:<name>".
template <class T>
caf::behavior topic_gateway(caf::event_based_actor* self, topic<T> source, std::string wire,
                            std::shared_ptr<node_state> node) {
  return {
      [wire](describe_atom) { return std::vector<std::string>{wire}; },
      [self, source, node](subscribe_atom, caf::actor& mirror, uint64_t window) {
        node->count("topic:" + source.name() + ".subscribed", 1);
        return node->rt().spawn(topic_forwarder<T>, source, std::move(mirror),
                                std::max<uint64_t>(window, 1), node);
      },
  };
}

/// On the subscriber's node: takes what the forwarder sends, publishes it on the mirror and
/// acknowledges it.
template <class T>
caf::behavior topic_mirror(caf::event_based_actor* self, topic<T> mirror, remote_topic_options opts,
                           std::shared_ptr<node_state> node, uint64_t peer) {
  auto forwarder = std::make_shared<caf::actor>();
  auto unacked = std::make_shared<uint64_t>(0);
  const uint64_t threshold = std::max<uint64_t>(opts.window / 2, 1);
  auto end = [self, opts, node, peer](caf::error reason, const char* state) {
    node->update_peer(peer, [&](node_state::peer& p) { p.state = state; });
    if (opts.on_lost)
      opts.on_lost(reason);
    self->quit(std::move(reason));
  };
  self->set_down_handler([forwarder, end](caf::down_msg& msg) {
    if (!*forwarder || msg.source != forwarder->address())
      return;
    end(msg.reason == caf::exit_reason::remote_link_unreachable
            ? make_error(distribution_errc::connection_lost, std::string{"topic"})
            : std::move(msg.reason),
        "lost");
  });
  self->attach_functor([node, peer] { node->remove_peer(peer); });
  return {
      [self, forwarder, unacked, threshold](feeder_atom, caf::actor& source) {
        *forwarder = std::move(source);
        self->monitor(*forwarder);
        // Messages may have come before the forwarder's name did.
        if (*unacked >= threshold)
          self->send(*forwarder, ack_atom::value, std::exchange(*unacked, 0));
      },
      [self, mirror, forwarder, unacked, threshold, node, peer](T& value) {
        mirror.publish(std::move(value), self->context());
        node->update_peer(peer, [](node_state::peer& p) { ++p.requests; });
        if (++*unacked >= threshold && *forwarder)
          self->send(*forwarder, ack_atom::value, std::exchange(*unacked, 0));
      },
      [opts, node, peer](lagged_atom, uint64_t missed) {
        node->update_peer(peer, [&](node_state::peer& p) { p.failures += missed; });
        if (opts.on_lag)
          opts.on_lag(lagged{missed});
      },
      [end, mirror](closed_atom, caf::error& reason) {
        if (reason == topic_errc::closed) {
          // The owner closed the topic: so does the mirror, once its subscribers read the rest.
          mirror.close();
          end(std::move(reason), "closed");
          return;
        }
        end(std::move(reason), "disconnected");
      },
  };
}

} // namespace detail

/// Publishes `t` (a named topic) on `n`'s registry as "topic:<name>", for subscribe_topic.
/// Errors: not_serializable (T not announced), publish_failed (unnamed topic, name taken).
template <class T>
caf::error publish_topic(const node& n, const topic<T>& t) {
  auto& rt = n.rt();
  auto wire = detail::wire_name<T>(rt.system());
  if (wire.empty())
    return make_error(distribution_errc::not_serializable, caf::detail::pretty_type_name(typeid(T)),
                      std::string{"announce it with network_setup::announce"});
  if (t.name().empty())
    return make_error(distribution_errc::publish_failed, std::string{"topic"},
                      std::string{"only named topics can be published"});
  auto gw = rt.spawn(detail::topic_gateway<T>, t, wire, n.state());
  if (!n.state()->add_service("topic:" + t.name(), {gw, "topic", 0})) {
    caf::anon_send_exit(gw, caf::exit_reason::user_shutdown);
    return make_error(distribution_errc::publish_failed, t.name(),
                      std::string{"the name is taken"});
  }
  return caf::none;
}

/// Subscribes to the topic `name` that the node at `host`:`port` published; returns the local
/// mirror to subscribe to. Errors: node_down, not_published, type_mismatch, not_serializable.
///
///   auto prices = troupe::subscribe_topic<quote>(node, "10.0.0.5", 4000, "prices").value();
///   prices.mirror.subscribe(self, on_quote, on_lag);
template <class T>
troupe::result<remote_topic<T>> subscribe_topic(const node& n, const std::string& host,
                                                uint16_t port, const std::string& name,
                                                remote_topic_options opts = {}) {
  auto& rt = n.rt();
  auto wire = detail::wire_name<T>(rt.system());
  if (wire.empty())
    return make_error(distribution_errc::not_serializable, caf::detail::pretty_type_name(typeid(T)),
                      std::string{"announce it with network_setup::announce"});
  auto gateway = n.find_remote(host, port, "topic:" + name);
  if (!gateway)
    return std::move(gateway.error());
  caf::scoped_actor self{rt.system()};
  caf::error failed;
  auto timeout = n.state()->options().connect_timeout;
  self->request(*gateway, timeout, detail::describe_atom::value)
      .receive(
          [&](std::vector<std::string>& names) {
            if (names.size() != 1 || names.front() != wire)
              failed = make_error(distribution_errc::type_mismatch, name,
                                  "the topic does not carry " + wire);
          },
          [&](caf::error& err) { failed = std::move(err); });
  if (failed)
    return failed;
  topic_options local;
  local.capacity = std::max<std::size_t>(opts.capacity, 1);
  auto mirror = make_topic<T>(rt, local).value();
  detail::node_state::peer row;
  row.host = host;
  row.port = port;
  row.service = "topic:" + name;
  row.state = "connected";
  auto peer = n.state()->add_peer(std::move(row));
  auto feeder = rt.spawn(detail::topic_mirror<T>, mirror, opts, n.state(), peer);
  self->request(*gateway, timeout, detail::subscribe_atom::value, feeder, opts.window)
      .receive(
          [&](caf::actor& forwarder) { self->send(feeder, detail::feeder_atom::value, forwarder); },
          [&](caf::error& err) { failed = detail::translate(std::move(err)); });
  if (failed) {
    caf::anon_send_exit(feeder, caf::exit_reason::user_shutdown);
    return failed;
  }
  return remote_topic<T>{std::move(mirror), std::move(feeder)};
}

} // namespace troupe
