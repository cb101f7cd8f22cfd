#pragma once

#include <chrono>
#include <concepts>
#include <coroutine>
#include <memory>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/duration.hpp>
#include <caf/expected.hpp>

#include "troupe/actors/pending.hpp"
#include "troupe/coro/detail/actor_core.hpp"
#include "troupe/coro/detail/reply_target.hpp"
#include "troupe/coro/task.hpp"
#include "troupe/mailbox/mailbox.hpp"

namespace troupe::detail {

/// A request's timeout: a std::chrono duration, or none for caf::infinite.
template <class Timeout>
std::optional<std::chrono::nanoseconds> timeout_of(Timeout t) {
  if constexpr (std::is_same_v<std::decay_t<Timeout>, caf::infinite_t>)
    return std::nullopt;
  else
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t);
}

} // namespace troupe::detail

namespace troupe::coro {

/// A request to a typed mailbox, awaited inside a troupe::task: `co_await` sends it and yields
/// caf::expected<reply_t<T>> (the reply, or its typed error). See coro::request().
template <class Mailbox, class T>
class mailbox_request final : public detail::table_target<reply_t<T>> {
public:
  /// The value the request yields on success.
  using reply_type = reply_t<T>;

  /// Nothing is sent before co_await. No `timeout` means the request waits for its reply
  /// without limit.
  mailbox_request(Mailbox dest, T msg, std::optional<std::chrono::nanoseconds> timeout)
      : dest_(std::move(dest)), msg_(std::move(msg)), timeout_(timeout) {}
  /// Moves the destination, the message and the timeout; only before co_await.
  mailbox_request(mailbox_request&& other) noexcept
      : dest_(std::move(other.dest_)), msg_(std::move(other.msg_)), timeout_(other.timeout_) {}

  /// Sends the request from the task's actor and arms the timeout, if any. Does not suspend
  /// when the send fails at once (the error is the result).
  template <class Promise>
  bool await_suspend(std::coroutine_handle<Promise> h) {
    return this->send_and_suspend(
        h,
        [this](::troupe::actor* self,
               std::unique_ptr<::troupe::actor_reply_sink<reply_type>> sink) {
          typename Mailbox::envelope_type env{std::move(msg_), std::move(sink)};
          auto outcome = dest_ ? dest_.push(env, self, {}) : admission_outcome::receiver_dead;
          if (outcome != admission_outcome::accepted && outcome != admission_outcome::parked)
            return detail::fail_of(outcome);
          return caf::error{};
        },
        timeout_);
  }

private:
  Mailbox dest_;
  T msg_;
  std::optional<std::chrono::nanoseconds> timeout_;
};

/// Sends the request `msg` to `dest` from the awaiting task's actor and yields its reply:
/// caf::expected<reply_t<T>>. `timeout` is a std::chrono duration or caf::infinite.
///
/// Example:
///
///   troupe::task<void> step(calc dest) {
///     caf::expected<int64_t> n = co_await troupe::coro::request(dest, increment{41}, 1s);
///     if (!n) { /* n.error() == troupe::mailbox_errc::request_timeout, ... */ }
///   }
///
/// Errors: mailbox_errc::request_timeout, receiver_dead (also when the receiver stops before
/// answering), handler_threw, mailbox_full, or the error the handler returned.
///
/// Thread safety: co_await only inside a troupe::task; the task resumes on its own actor.
/// The awaitable must be awaited at most once.
template <class... Ts, class T, class Timeout>
requires is_one_of_v<T, Ts...>
[[nodiscard]] mailbox_request<mailbox<Ts...>, T> request(const mailbox<Ts...>& dest, T msg,
                                                         Timeout timeout) {
  return {dest, std::move(msg), detail::timeout_of(timeout)};
}

/// A CAF request or another CAF response awaited inside a troupe::task (see request_actor and
/// spawn_blocking).
template <class R, class Launch>
class caf_response final : public detail::linked_target<R> {
public:
  /// `launch` is called with the task's actor on co_await and returns a handle with
  /// `then(on_value, on_error)`, such as the one CAF's request() returns.
  explicit caf_response(Launch launch) : launch_(std::move(launch)) {}
  /// Moves the launcher; only before co_await.
  caf_response(caf_response&& other) noexcept : launch_(std::move(other.launch_)) {}

  /// Launches the request and registers the response handlers on the task's actor.
  template <class Promise>
  bool await_suspend(std::coroutine_handle<Promise> h) {
    auto* host = h.promise().host();
    auto link = this->link_to(host);
    auto on_error = [link](caf::error& err) { link->complete(detail::translate(std::move(err))); };
    if constexpr (std::is_same_v<R, caf::unit_t>)
      launch_(host->actor()).then([link] { link->complete(caf::unit); }, std::move(on_error));
    else
      launch_(host->actor())
          .then([link](R& x) { link->complete(std::move(x)); }, std::move(on_error));
    return this->suspend(h);
  }

private:
  Launch launch_;
};

/// Sends a CAF request (`xs...`) to the plain CAF actor `dest` and yields its response as
/// caf::expected<R> (R = caf::unit_t for an empty response).
///
/// Example:
///
///   caf::expected<int> sum = co_await troupe::coro::request_actor<int>(adder, 1s, 1, 2);
///
/// Errors: mailbox_errc::request_timeout, receiver_dead, or the error the actor answered.
/// Thread safety: co_await only inside a troupe::task.
template <class R, class Timeout, class... Xs>
[[nodiscard]] auto request_actor(caf::actor dest, Timeout timeout, Xs... xs) {
  auto launch = [dest = std::move(dest), timeout = caf::duration{timeout},
                 args = std::make_tuple(std::move(xs)...)](::troupe::actor* self) mutable {
    return std::apply([&](auto&... as) { return self->request(dest, timeout, std::move(as)...); },
                      args);
  };
  return caf_response<R, decltype(launch)>{std::move(launch)};
}

/// A request in the callback form (a troupe::pending<R> that the task's actor starts) awaited
/// inside a troupe::task; see the request() overload for remote mailboxes.
template <class R, class Launch>
class pending_response final : public detail::linked_target<R> {
public:
  /// `launch` is called with the task's actor on co_await and returns the pending<R>, whose
  /// callbacks run on that actor.
  explicit pending_response(Launch launch) : launch_(std::move(launch)) {}
  /// Moves the launcher; only before co_await.
  pending_response(pending_response&& other) noexcept : launch_(std::move(other.launch_)) {}
  pending_response& operator=(pending_response&&) = delete;

  /// Starts the request; its answer completes the target on the actor (or finds it gone).
  template <class Promise>
  bool await_suspend(std::coroutine_handle<Promise> h) {
    auto* host = h.promise().host();
    auto link = this->link_to(host);
    launch_(host->actor())
        .then([link](R x) { link->complete(std::move(x)); },
              [link](caf::error err) { link->complete(std::move(err)); });
    return this->suspend(h);
  }

private:
  Launch launch_;
};

/// A handle whose request(self, msg, timeout) gives a troupe::pending reply that runs its
/// callbacks on `self`, such as troupe::remote_mailbox (component distribution, which the
/// coroutines do not depend on: the handle is recognised by this shape).
template <class Remote, class T>
concept callback_requester = requires(const Remote& dest, ::troupe::actor* self, T msg) {
  {
    dest.request(self, std::move(msg), std::chrono::milliseconds{1})
    } -> std::same_as<pending<reply_t<T>>>;
};

/// Sends the request `msg` to a remote mailbox (troupe::remote_mailbox, from node::lookup or
/// node::connect) from the awaiting task's actor and yields its reply as
/// caf::expected<reply_t<T>>, with the same errors as remote_mailbox::request (CAF's timeout
/// and a receiver that went down are translated as there). The timeout is rounded up to whole
/// milliseconds (the remote handle's unit).
///
/// Example:
///
///   troupe::task<void> quote(troupe::remote_mailbox<get_quote> prices) {
///     get_quote q{"ACME"};
///     caf::expected<double> p = co_await troupe::coro::request(prices, q, 1s);
///     if (!p) { /* p.error(): request_timeout, node_down, connection_lost, ... */ }
///   }
///
/// Errors: mailbox_errc::request_timeout, receiver_dead, the handler's error,
/// distribution_errc::node_down (the node cannot be reached) and connection_lost (the
/// connection dropped while the request was out).
///
/// Thread safety: co_await only inside a troupe::task; the task resumes on its own actor.
template <class Remote, class T, class Rep, class Period>
requires callback_requester<Remote, T>
[[nodiscard]] auto request(const Remote& dest, T msg, std::chrono::duration<Rep, Period> timeout) {
  auto launch =
      [dest, msg = std::move(msg), timeout = std::chrono::ceil<std::chrono::milliseconds>(timeout)](
          ::troupe::actor* self) mutable { return dest.request(self, std::move(msg), timeout); };
  return pending_response<reply_t<T>, decltype(launch)>{std::move(launch)};
}

} // namespace troupe::coro
