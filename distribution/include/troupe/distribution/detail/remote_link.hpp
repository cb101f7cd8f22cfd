#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/actor_clock.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/message_id.hpp>
#include <caf/timespan.hpp>

#include "troupe/actors/request.hpp"
#include "troupe/distribution/detail/node_state.hpp"
#include "troupe/distribution/detail/protocol.hpp"

namespace troupe::detail {

using connect_now_atom = caf::atom_constant<caf::atom("tr_connow")>;

/// Where a link connects: a node's host and port, and a service name when the port serves the
/// node's registry (empty: the port serves one actor).
struct link_target {
  std::string host;
  uint16_t port = 0;
  std::string service;
  bool exit_on_loss = false;
};

/// The local actor that stands for one remote service. It connects on demand (again after a
/// loss), checks that the service accepts this side's message types, forwards requests, and
/// fails every request in flight with connection_lost the moment the connection drops — CAF
/// would leave them to their timeouts — or with receiver_dead when the service itself ends.
///
/// It keeps its requests' deadlines itself, with one clock entry for the earliest: a CAF
/// request's timeout stays in the clock until it is due, answered or not (CAF 0.17 cancels an
/// actor's timeouts only when it ends), so a link that forwards 28,000 requests a second with
/// 30 s timeouts kept 840,000 clock entries, each holding a reference to it, and received a
/// stray timeout message for every answered request 30 s after its answer.
class remote_link_base : public caf::event_based_actor {
public:
  remote_link_base(caf::actor_config& cfg, std::shared_ptr<node_state> node, link_target target,
                   std::vector<std::string> expected_names);
  ~remote_link_base() override;

  const char* name() const override { return name_.c_str(); }

protected:
  using operation = std::function<void(const caf::actor&)>;
  using failure = std::function<void(caf::error)>;

  /// Runs `op` with the connected service, connecting first if needed; `fail` runs instead
  /// when connecting fails.
  void with_service(operation op, failure fail);

  /// Tracks a request in flight, sent as the CAF request whose response id is `response`: it
  /// fails with request_timeout once `timeout` has passed (its response handler dropped)
  /// unless answered, failed or lost before; finish() tells whether it was still open (first
  /// answer wins).
  uint64_t track(failure fail, caf::timespan timeout, caf::message_id response);
  bool finish(uint64_t id);
  void count_failure();

  void on_exit() override;

  std::shared_ptr<node_state> node_;

private:
  void connect();
  void check_types(caf::actor service);
  void connected(caf::actor service);
  void connect_failed(caf::error err);
  void lost(caf::error reason);
  void report(const char* state);
  using deadline_list = std::multimap<caf::actor_clock::time_point, uint64_t>;
  // A request in flight.
  struct flight {
    failure fail;
    caf::message_id response;
    // deadlines_.end() for none (no timeout, or beyond the clock's range).
    deadline_list::iterator deadline;
  };
  // Erases a request's deadline, if it has one.
  void forget_deadline(flight& f);
  // Drops the CAF response handlers of requests that failed before their answer came (timed
  // out, lost): an answer that comes later finds none and is dropped, as after CAF's own
  // timeout. One pass over CAF's table, a vector.
  void drop_response_handlers(const std::vector<caf::message_id>& responses);
  // Arms the timer for the earliest deadline unless it is armed for that time or before; a
  // timer armed for later is cancelled first.
  void arm_timer();
  // The timer fired: fails the requests whose deadline passed, then arms it again.
  void on_deadline();

  link_target target_;
  std::vector<std::string> expected_names_;
  std::string name_;
  caf::actor service_;
  bool connecting_ = false;
  std::vector<std::pair<operation, failure>> waiting_;
  std::unordered_map<uint64_t, flight> in_flight_;
  deadline_list deadlines_;
  // The timer: a request timeout of the clock (cancelled with the link's other timeouts when it
  // ends, so it keeps no ended link alive) for a request id of the link's own, whose response
  // handler is on_deadline. When it is due; max() while none is armed.
  caf::actor_clock::time_point timer_due_ = caf::actor_clock::time_point::max();
  caf::message_id timer_id_;
  uint64_t next_id_ = 1;
  uint64_t peer_token_ = 0;
};

/// A link for a mailbox with message types Ts: one forwarding handler per type. Local callers
/// send (T, timeout, trace) and get T's reply or a typed error; the service gets (T, trace).
template <class... Ts>
class remote_link final : public remote_link_base {
public:
  using remote_link_base::remote_link_base;

  caf::behavior make_behavior() override {
    return {
        [this](connect_now_atom) {
          auto rp = make_response_promise();
          with_service([rp](const caf::actor&) mutable { rp.deliver(true); },
                       [rp](caf::error err) mutable { rp.deliver(std::move(err)); });
          return rp;
        },
        forwarder<Ts>()...,
    };
  }

private:
  template <class T>
  auto forwarder() {
    using R = reply_t<T>;
    return [this](T& msg, caf::timespan timeout, trace_id trace) {
      auto rp = make_response_promise();
      with_service(
          [this, rp, timeout, trace, msg = std::move(msg)](const caf::actor& service) mutable {
            // No CAF timeout: the link keeps the deadline (track). The response handlers are
            // registered below, before any response can be handled on this actor.
            auto sent_request = request(service, caf::infinite, std::move(msg), trace);
            auto id = track([rp](caf::error err) mutable { rp.deliver(std::move(err)); }, timeout,
                            sent_request.id());
            auto on_error = [this, rp, id](caf::error& err) mutable {
              if (finish(id)) {
                count_failure();
                rp.deliver(translate(std::move(err)));
              }
            };
            if constexpr (std::is_same_v<R, caf::unit_t>) {
              sent_request.then(
                  [this, rp, id]() mutable {
                    if (finish(id))
                      rp.deliver(caf::unit);
                  },
                  std::move(on_error));
            } else {
              sent_request.then(
                  [this, rp, id](R& value) mutable {
                    if (finish(id))
                      rp.deliver(std::move(value));
                  },
                  std::move(on_error));
            }
          },
          [this, rp](caf::error err) mutable {
            count_failure();
            rp.deliver(std::move(err));
          });
      return rp;
    };
  }
};

} // namespace troupe::detail
