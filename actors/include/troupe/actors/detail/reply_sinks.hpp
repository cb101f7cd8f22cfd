#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>

#include <caf/expected.hpp>
#include <utility>

#include <caf/actor_cast.hpp>
#include <caf/make_message.hpp>
#include <caf/message_id.hpp>

#include "troupe/mailbox/detail/queue_actor.hpp"
#include "troupe/mailbox/detail/reply_sink.hpp"

namespace troupe::detail {

/// Answers a request by calling back on the receiver's thread (for callers outside actors,
/// whose waiting side synchronises itself).
template <class R>
class callback_sink final : public reply_sink<R> {
public:
  callback_sink(std::function<void(R)> f, std::function<void(caf::error)> g)
      : on_value_(std::move(f)), on_error_(std::move(g)) {}

  void complete(R value) override { on_value_(std::move(value)); }
  void fail(caf::error err) override { on_error_(std::move(err)); }

private:
  std::function<void(R)> on_value_;
  std::function<void(caf::error)> on_error_;
};

/// Answers a request of an actor with a CAF response message, so the reply runs in the
/// requester's own context like any response.
template <class R>
class actor_sink final : public reply_sink<R> {
public:
  actor_sink(caf::strong_actor_ptr requester, caf::message_id response_id)
      : requester_(std::move(requester)), response_id_(response_id) {}

  void complete(R value) override { send(caf::make_message(std::move(value))); }
  void fail(caf::error err) override { send(caf::make_message(std::move(err))); }

private:
  void send(caf::message msg) {
    // nullptr execution unit: the receiver's worker is not ours, so CAF must schedule the
    // requester through its thread-safe path.
    requester_->enqueue(nullptr, response_id_, std::move(msg), nullptr);
  }

  caf::strong_actor_ptr requester_;
  caf::message_id response_id_;
};

/// The reply of a request made by a Troupe actor, on its way back through that actor's reply
/// queue.
template <class R>
class reply_value final : public reply_job {
public:
  reply_value(uint64_t id, caf::expected<R> x) : reply_job(id), result(std::move(x)) {}
  caf::expected<R> result;
};

/// The requester's side of a Troupe actor's request: the then() callbacks.
template <class R>
class continuation_of final : public continuation {
public:
  continuation_of(std::function<void(R)> f, std::function<void(caf::error)> g)
      : on_value_(std::move(f)), on_error_(std::move(g)) {}

  void deliver(reply_job& reply) override {
    auto& result = static_cast<reply_value<R>&>(reply).result;
    if (result)
      on_value_(std::move(*result));
    else
      on_error_(std::move(result.error()));
  }

  void fail(caf::error err) override { on_error_(std::move(err)); }

private:
  std::function<void(R)> on_value_;
  std::function<void(caf::error)> on_error_;
};

/// Answers a request of a Troupe actor through its reply queue: no CAF message, and the
/// requester finds the continuation by id in O(1).
template <class R>
class queue_actor_sink final : public reply_sink<R> {
public:
  queue_actor_sink(queue_actor* requester, uint64_t id)
      : requester_(requester), keep_alive_(requester->ctrl()), id_(id) {}

  void complete(R value) override {
    requester_->post_reply(std::make_unique<reply_value<R>>(id_, std::move(value)));
  }

  void fail(caf::error err) override {
    requester_->post_reply(std::make_unique<reply_value<R>>(id_, std::move(err)));
  }

private:
  queue_actor* requester_;
  // The requester's memory stays valid while this reference exists, even after it terminated.
  caf::strong_actor_ptr keep_alive_;
  uint64_t id_;
};

/// A request of a Troupe actor without a timeout: the sink carries the continuation and, once
/// answered, travels back through the requester's reply queue as the reply itself. One
/// allocation per request, and no table: nothing can expire.
template <class R>
class inline_reply final : public reply_sink<R>, public reply_job {
public:
  inline_reply(queue_actor* requester, std::function<void(R)> f, std::function<void(caf::error)> g)
      : reply_job(0), requester_(requester), keep_alive_(requester->ctrl()),
        on_value_(std::move(f)), on_error_(std::move(g)) {
    this->takes_ownership_ = true;
  }

  void complete(R value) override {
    result_.emplace(std::move(value));
    requester_->post_reply(std::unique_ptr<reply_job>{this});
  }

  void fail(caf::error err) override {
    result_.emplace(std::move(err));
    requester_->post_reply(std::unique_ptr<reply_job>{this});
  }

  void run() override {
    if (*result_)
      on_value_(std::move(**result_));
    else
      on_error_(std::move(result_->error()));
  }

private:
  queue_actor* requester_;
  caf::strong_actor_ptr keep_alive_;
  std::function<void(R)> on_value_;
  std::function<void(caf::error)> on_error_;
  std::optional<caf::expected<R>> result_;
};

} // namespace troupe::detail
