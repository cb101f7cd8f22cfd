#pragma once

#include <memory>
#include <type_traits>
#include <utility>

#include <caf/duration.hpp>
#include <caf/error.hpp>
#include <caf/sec.hpp>

#include "troupe/actors/detail/request_errors.hpp"
#include "troupe/actors/pending.hpp"
#include "troupe/core/actor.hpp"
#include "troupe/core/actor_reply_sink.hpp"
#include "troupe/core/continuation.hpp"
#include "troupe/mailbox/mailbox.hpp"

namespace troupe {

/// The request of a Troupe actor, as troupe::request(self, ...) returns it: nothing is sent
/// until then(). then() keeps the callbacks as they were given, in the object that carries the
/// request: no std::function, and one allocation for a request without a timeout. Where a
/// pending<reply_type> is wanted (a combinator, a vector of requests, a member), it converts to
/// one of the same meaning.
///
/// Example (inside a Troupe actor):
///
///   troupe::request(self, counter, get_count{}, 1s)
///     .then([=](int64_t n) { ... }, [=](caf::error err) { ... });
///
/// Thread safety: a value owned by the requesting actor; then() runs on it, and so do the
/// callbacks.
template <class Dest, class T, class Timeout>
class actor_request {
public:
  /// The type of the reply.
  using value_type = reply_t<T>;

  /// The request `msg` from `self` to `dest`; `timeout` is a std::chrono duration or
  /// caf::infinite.
  actor_request(actor* self, Dest dest, T msg, Timeout timeout)
      : self_(self), dest_(std::move(dest)), msg_(std::move(msg)), timeout_(timeout) {}

  /// A second request of the same message (the message is copied); each is sent by its own
  /// then().
  actor_request(const actor_request&) = default;
  /// As the copy constructor.
  actor_request& operator=(const actor_request&) = default;
  /// The moved-from request is empty: its then() fails with caf::sec::invalid_argument.
  actor_request(actor_request&& other) noexcept
      : self_(std::exchange(other.self_, nullptr)), dest_(std::move(other.dest_)),
        msg_(std::move(other.msg_)), timeout_(other.timeout_) {}
  /// As the move constructor: `other` is empty afterwards.
  actor_request& operator=(actor_request&& other) noexcept {
    self_ = std::exchange(other.self_, nullptr);
    dest_ = std::move(other.dest_);
    msg_ = std::move(other.msg_);
    timeout_ = other.timeout_;
    return *this;
  }
  ~actor_request() = default;

  /// True until it is sent or moved from.
  [[nodiscard]] explicit operator bool() const noexcept { return self_ != nullptr; }

  /// Sends the request; exactly one of the two callbacks runs, once, on the requesting actor:
  /// `on_value` with the reply, `on_error` with a caf::error (see troupe::request for which).
  template <class F, class G>
  void then(F on_value, G on_error) && {
    auto* self = std::exchange(self_, nullptr);
    if (self == nullptr) {
      on_error(caf::make_error(caf::sec::invalid_argument));
      return;
    }
    using envelope = typename Dest::envelope_type;
    if constexpr (std::is_same_v<Timeout, caf::infinite_t>) {
      envelope env{std::move(msg_), std::make_unique<inline_reply<value_type, F, G>>(
                                        self, std::move(on_value), std::move(on_error))};
      auto outcome = push(self, env);
      if (!detail::admitted(outcome))
        fail_reply(env.reply, detail::fail_of(outcome));
    } else {
      auto id = self->add_request(std::make_unique<continuation_of<value_type, F, G>>(
          std::move(on_value), std::move(on_error)));
      envelope env{std::move(msg_), std::make_unique<actor_reply_sink<value_type>>(self, id)};
      auto outcome = push(self, env);
      if (!detail::admitted(outcome)) {
        self->fail_request(id, detail::fail_of(outcome));
        return;
      }
      self->fail_request_after(id, timeout_, make_error(mailbox_errc::request_timeout));
    }
  }

  /// The same request as a pending reply (for combinators and for storing it).
  // NOLINTNEXTLINE(google-explicit-constructor): a request is a pending reply.
  operator pending<value_type>() && {
    return pending<value_type>{[request = std::move(*this)](auto on_value, auto on_error) mutable {
      std::move(request).then(std::move(on_value), std::move(on_error));
    }};
  }

private:
  template <class Envelope>
  admission_outcome push(actor* self, Envelope& env) {
    return dest_ ? dest_.push(env, self, {}) : admission_outcome::receiver_dead;
  }

  actor* self_;
  Dest dest_;
  T msg_;
  Timeout timeout_;
};

} // namespace troupe
