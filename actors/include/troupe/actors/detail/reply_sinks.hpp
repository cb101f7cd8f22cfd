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

#include "troupe/core/reply_sink.hpp"

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

} // namespace troupe::detail
