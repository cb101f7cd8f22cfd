#pragma once

#include <chrono>
#include <concepts>
#include <string>
#include <utility>

#include <caf/actor.hpp>
#include <caf/local_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/timespan.hpp>

#include "troupe/actors/pending.hpp"
#include "troupe/actors/request.hpp"
#include "troupe/distribution/detail/protocol.hpp"
#include "troupe/distribution/distribution_errc.hpp"
#include "troupe/mailbox/mailbox.hpp"
#include "troupe/scheduler/errors.hpp"
#include "troupe/scheduler/result.hpp"

namespace troupe {

/// A typed mailbox of another node, found with node::lookup or node::connect. It takes the
/// same message types and gives the same replies and typed errors as a local mailbox, plus
/// distribution_errc::node_down (the node cannot be reached) and connection_lost (the
/// connection dropped while the request was out: reported at once, not at the timeout). After a
/// loss the next request connects again.
///
///   auto prices = node.lookup<get_quote>("10.0.0.5", 4000, "prices").value();
///   troupe::result<double> p = prices.ask(get_quote{"ACME"}, 1s);          // from a thread
///   prices.request(self, get_quote{"ACME"}, 1s).then(on_price, on_error); // from an actor
///
/// Thread safety: ask() from any thread but actors; request() from inside `self`.
/// Copies share the connection.
template <class... Ts>
class remote_mailbox {
public:
  /// An empty handle; converts to false.
  remote_mailbox() = default;
  /// Internal: node::lookup and node::connect make handles from the link actor and the address.
  remote_mailbox(caf::actor link, std::string address)
      : link_(std::move(link)), address_(std::move(address)) {}

  /// Sends a request from a thread and waits up to `timeout` for its reply.
  template <class T>
  requires is_one_of_v<T, Ts...> troupe::result<reply_t<T>> ask(T msg,
                                                                std::chrono::milliseconds timeout)
  const {
    using R = reply_t<T>;
    caf::scoped_actor self{link_.home_system()};
    caf::expected<R> out{caf::make_error(caf::sec::invalid_argument)};
    auto on_error = [&](caf::error& err) { out = detail::translate(std::move(err)); };
    auto trace = current_trace();
    if constexpr (std::is_same_v<R, caf::unit_t>)
      self->request(link_, timeout, std::move(msg), caf::timespan{timeout}, trace)
          .receive([&] { out = caf::unit; }, on_error);
    else
      self->request(link_, timeout, std::move(msg), caf::timespan{timeout}, trace)
          .receive([&](R& value) { out = std::move(value); }, on_error);
    return out;
  }

  /// Sends a request from inside the actor `self` (a Troupe actor or a caf::event_based_actor);
  /// its reply runs there.
  template <class Self, class T>
  requires is_one_of_v<T, Ts...> && std::derived_from<Self, caf::local_actor> pending<reply_t<T>>
  request(Self* self, T msg, std::chrono::milliseconds timeout)
  const {
    using R = reply_t<T>;
    return pending<R>{
        [self, link = link_, msg = std::move(msg), timeout](auto on_value, auto on_error) mutable {
          // The reply or the failure runs with the trace the request was made with.
          auto trace = current_trace();
          auto fail = [on_error, trace](caf::error& err) mutable {
            trace_scope traced{trace};
            on_error(detail::translate(std::move(err)));
          };
          if constexpr (std::is_same_v<R, caf::unit_t>)
            self->request(link, timeout, std::move(msg), caf::timespan{timeout}, trace)
                .then(
                    [on_value, trace]() mutable {
                      trace_scope traced{trace};
                      on_value(caf::unit);
                    },
                    std::move(fail));
          else
            self->request(link, timeout, std::move(msg), caf::timespan{timeout}, trace)
                .then(
                    [on_value, trace](R& value) mutable {
                      trace_scope traced{trace};
                      on_value(std::move(value));
                    },
                    std::move(fail));
        }};
  }

  /// The local actor standing for the service: monitor it to hear of a lost connection when
  /// the handle was made with exit_on_loss (its exit reason is then connection_lost).
  [[nodiscard]] const caf::actor& link() const noexcept { return link_; }

  /// "host:port/service", or "host:port" for a handle from node::connect.
  [[nodiscard]] const std::string& address() const noexcept { return address_; }

  /// True unless the handle is empty. Says nothing about the connection.
  [[nodiscard]] explicit operator bool() const noexcept { return static_cast<bool>(link_); }

private:
  caf::actor link_;
  std::string address_;
};

} // namespace troupe
