#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>

#include <caf/actor_cast.hpp>
#include <caf/actor_clock.hpp>
#include <caf/behavior.hpp>
#include <caf/duration.hpp>
#include <caf/expected.hpp>
#include <caf/scheduled_actor.hpp>
#include <caf/sec.hpp>

#include "troupe/actors/actor_request.hpp"
#include "troupe/actors/detail/reply_sinks.hpp"
#include "troupe/actors/detail/request_errors.hpp"
#include "troupe/actors/pending.hpp"
#include "troupe/core/actor_reply_sink.hpp"
#include "troupe/mailbox/mailbox.hpp"
#include "troupe/runtime/blocking_future.hpp"
#include "troupe/scheduler/result.hpp"

namespace troupe {

/// Sends the request `msg` from inside the actor `self` (timeout: a std::chrono duration or
/// caf::infinite) and returns its pending reply; the
/// reply (or error) runs in `self`'s context, like a CAF response. Never blocks the worker.
///
/// Errors: mailbox_errc::request_timeout, receiver_dead (also when the receiver dies before
/// answering), closed (the mailbox was closed for senders, see mailbox::close; also for a
/// request parked under backpressure when the close came), handler_threw (with the exception
/// message), mailbox_full (fail and drop policies), or the error the handler returned.
///
/// Example:
///
///   troupe::request(self, counter, get_count{}, 1s)
///     .then([=](int64_t n) { ... }, [=](caf::error err) { ... });
template <class... Ts, class T, class Timeout>
requires is_one_of_v<T, Ts...> pending<reply_t<T>>
request(caf::scheduled_actor* self, const mailbox<Ts...>& dest, T msg, Timeout timeout_arg) {
  using R = reply_t<T>;
  caf::duration timeout{timeout_arg};
  return pending<R>{[self, dest, msg = std::move(msg), timeout](auto on_value,
                                                                auto on_error) mutable {
    auto mid = self->new_request_id(caf::message_priority::normal);
    auto response_id = mid.response_id();
    typename mailbox<Ts...>::envelope_type env{
        std::move(msg), std::make_unique<detail::actor_sink<R>>(self, response_id)};
    auto outcome = dest ? dest.push(env, self, {}) : admission_outcome::receiver_dead;
    if (!detail::admitted(outcome)) {
      on_error(detail::fail_of(outcome));
      return;
    }
    self->add_multiplexed_response_handler(
        response_id,
        caf::behavior{
            [on_value](R& value) mutable { on_value(std::move(value)); },
            [on_error](caf::error& err) mutable { on_error(detail::translate(std::move(err))); },
        });
    self->request_response_timeout(timeout, mid);
  }};
}

/// request() for Troupe actors (the `self` of a mailbox's handlers): the reply comes back
/// through the actor's own reply queue and is matched to its continuation by id in O(1); a
/// finite timeout records a deadline (troupe::actor::fail_request_after). Returns a
/// troupe::actor_request, which keeps then()'s callbacks without std::function and converts
/// to pending<reply_t<T>> where one is wanted.
template <class... Ts, class T, class Timeout>
requires is_one_of_v<T, Ts...> actor_request<mailbox<Ts...>, T, std::decay_t<Timeout>>
request(troupe::actor* self, const mailbox<Ts...>& dest, T msg, Timeout timeout) {
  return {self, dest, std::move(msg), timeout};
}

namespace detail {

// ask_async(); `gave_up`, when given, travels with the reply sink so that the receiver can see
// that the caller stopped waiting (response_promise::pending).
template <class... Ts, class T>
pending<reply_t<T>> ask_async(const mailbox<Ts...>& dest, T msg,
                              std::chrono::milliseconds send_timeout,
                              std::shared_ptr<const std::atomic<bool>> gave_up) {
  using R = reply_t<T>;
  return pending<R>{[dest, msg = std::move(msg), send_timeout,
                     gave_up = std::move(gave_up)](auto on_value, auto on_error) mutable {
    typename mailbox<Ts...>::envelope_type env{
        std::move(msg),
        std::make_unique<detail::callback_sink<R>>(on_value, on_error, std::move(gave_up))};
    auto outcome = dest ? dest.push(env, nullptr, std::chrono::steady_clock::now() + send_timeout)
                        : admission_outcome::receiver_dead;
    if (!detail::admitted(outcome))
      on_error(detail::fail_of(outcome));
  }};
}

// await(); sets `gave_up` (if any) when the deadline passes first.
template <class R>
troupe::result<R> await(pending<R> p, std::chrono::milliseconds timeout,
                        std::atomic<bool>* gave_up) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  // The same set-once slot a blocking job's future uses; R is never void here (reply_t).
  auto st = std::make_shared<typename blocking_future<R>::shared_state>();
  std::move(p).then([st](R value) { st->set(std::move(value)); },
                    [st](caf::error err) { st->set(std::move(err)); });
  std::unique_lock guard{st->mtx};
  if (!st->done.wait_until(guard, deadline, [&] { return st->result.has_value(); })) {
    if (gave_up != nullptr)
      gave_up->store(true, std::memory_order_relaxed);
    return make_error(mailbox_errc::request_timeout);
  }
  return std::move(*st->result);
}

} // namespace detail

/// Like request(), for callers outside actors: the callbacks run on the receiver's thread.
/// Usually consumed by await() or a combinator.
template <class... Ts, class T>
requires is_one_of_v<T, Ts...> pending<reply_t<T>>
ask_async(const mailbox<Ts...>& dest, T msg,
          std::chrono::milliseconds send_timeout = std::chrono::seconds{30}) {
  return detail::ask_async(dest, std::move(msg), send_timeout, nullptr);
}

/// Starts `p` and blocks the calling thread (never an actor) until its reply or `timeout`.
/// One deadline for the whole call: the time starting `p` takes (e.g. waiting for room in a
/// full mailbox) counts against `timeout`; the reply wait gets what remains.
/// Errors: the reply's error, or mailbox_errc::request_timeout when the deadline passes first
/// (a late reply is then discarded).
template <class R>
troupe::result<R> await(pending<R> p, std::chrono::milliseconds timeout) {
  return detail::await(std::move(p), timeout, nullptr);
}

/// Sends the request from a thread and waits for its reply: oneshot request/response.
/// `timeout` bounds the whole call: the wait for room in a full mailbox and the wait for the
/// reply share it. Once the deadline passed, a response_promise for the request reads
/// pending() == false.
///
///   troupe::result<int64_t> n = troupe::ask(counter, get_count{}, 1s);
template <class... Ts, class T>
requires is_one_of_v<T, Ts...> troupe::result<reply_t<T>> ask(const mailbox<Ts...>& dest, T msg,
                                                              std::chrono::milliseconds timeout) {
  auto gave_up = std::make_shared<std::atomic<bool>>(false);
  return detail::await(detail::ask_async(dest, std::move(msg), timeout, gave_up), timeout,
                       gave_up.get());
}

} // namespace troupe
