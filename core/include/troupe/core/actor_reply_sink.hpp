#pragma once

// The reply sinks that answer a Troupe actor's own requests through its reply queue: no CAF
// message per reply, and the requester finds its continuation by id in O(1).
//
// Example (the shape of request() for a Troupe actor, see troupe/actors/request.hpp):
//
//   auto id = self->add_request(std::make_unique<troupe::continuation_of<R>>(on_value, on_error));
//   envelope env{std::move(msg), std::make_unique<troupe::actor_reply_sink<R>>(self, id)};
//
// Thread safety: constructed on the requester; complete() or fail() on whichever thread handles
// the request.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <typeinfo>
#include <utility>

#include <caf/actor_cast.hpp>
#include <caf/expected.hpp>

#include "troupe/core/actor.hpp"
#include "troupe/core/continuation.hpp"
#include "troupe/core/reply_sink.hpp"
#include "troupe/scheduler/recycled_blocks.hpp"

namespace troupe {

/// Answers a request registered with actor::add_request: posts a reply_value<R> carrying the
/// request's id to the requester's reply queue.
template <class R>
class actor_reply_sink final : public reply_sink<R>, public recycled_blocks<actor_reply_sink<R>> {
public:
  /// `id` is what add_request() returned. Holds a strong reference to `requester` until the
  /// sink is destroyed.
  actor_reply_sink(actor* requester, uint64_t id)
      : requester_(requester), keep_alive_(requester->ctrl()), id_(id) {}

  /// Posts the value to the requester's reply queue.
  void complete(R value) override {
    requester_->post_reply(std::make_unique<reply_value<R>>(id_, std::move(value)));
  }

  /// Posts the error to the requester's reply queue.
  void fail(caf::error err) override {
    requester_->post_reply(std::make_unique<reply_value<R>>(id_, std::move(err)));
  }

  /// False once the requester terminated. A request that timed out on the requester still
  /// reads true: only the requester knows its table of outstanding requests (the late answer
  /// becomes a dead letter there, reason caf::sec::unexpected_response).
  [[nodiscard]] bool requester_waiting() const noexcept override {
    return requester_->accepts_replies();
  }

private:
  actor* requester_;
  // The requester's memory stays valid while this reference exists, even after it terminated.
  caf::strong_actor_ptr keep_alive_;
  uint64_t id_;
};

/// A request of a Troupe actor without a timeout: the sink carries the continuation and, once
/// answered, travels back through the requester's reply queue as the reply itself. One
/// allocation per request, and no table: nothing can expire. troupe::request() stores the
/// callbacks as they were given (`F`, `G`), so that the request costs no std::function.
template <class R, class F = std::function<void(R)>, class G = std::function<void(caf::error)>>
class inline_reply final : public reply_sink<R>, public reply_job {
public:
  /// `f` runs with the value, `g` with the error, on the requester. Holds a strong reference
  /// to `requester` until the reply has run or was discarded.
  inline_reply(actor* requester, F f, G g)
      : reply_job(0), requester_(requester), keep_alive_(requester->ctrl()),
        on_value_(std::move(f)), on_error_(std::move(g)) {
    this->takes_ownership_ = true;
  }

  /// Stores the value and posts this object to the requester's reply queue, which owns it
  /// from then on.
  void complete(R value) override {
    result_.emplace(std::move(value));
    requester_->post_reply(std::unique_ptr<reply_job>{this});
  }

  /// Stores the error and posts this object to the requester's reply queue, which owns it
  /// from then on.
  void fail(caf::error err) override {
    result_.emplace(std::move(err));
    requester_->post_reply(std::unique_ptr<reply_job>{this});
  }

  /// False once the requester terminated (it has no timeout to miss).
  [[nodiscard]] bool requester_waiting() const noexcept override {
    return requester_->accepts_replies();
  }

  [[nodiscard]] const char* message_type() const noexcept override {
    return result_ && *result_ ? typeid(R).name() : typeid(caf::error).name();
  }

  void run() override {
    if (*result_)
      on_value_(detail::take_value(*result_));
    else
      on_error_(std::move(result_->error()));
  }

private:
  actor* requester_;
  caf::strong_actor_ptr keep_alive_;
  F on_value_;
  G on_error_;
  std::optional<caf::expected<R>> result_;
};

} // namespace troupe
