#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <typeinfo>
#include <utility>

#include <caf/actor_cast.hpp>
#include <caf/expected.hpp>
#include <caf/make_message.hpp>
#include <caf/message_id.hpp>
#include <caf/scheduled_actor.hpp>

#include "troupe/core/reply_sink.hpp"
#include "troupe/mailbox/mailbox_errc.hpp"
#include "troupe/runtime/dead_letter_office.hpp"
#include "troupe/runtime/runtime.hpp"

namespace troupe::detail {

/// Answers a request by calling back on the receiver's thread (for callers outside actors,
/// whose waiting side synchronises itself).
template <class R>
class callback_sink final : public reply_sink<R> {
public:
  // `gave_up`, when given, is set by the caller once it stops waiting (ask()'s deadline passed);
  // without it the sink cannot know, and requester_waiting() answers true.
  callback_sink(std::function<void(R)> f, std::function<void(caf::error)> g,
                std::shared_ptr<const std::atomic<bool>> gave_up = nullptr)
      : on_value_(std::move(f)), on_error_(std::move(g)), gave_up_(std::move(gave_up)) {}

  void complete(R value) override { on_value_(std::move(value)); }
  void fail(caf::error err) override { on_error_(std::move(err)); }
  [[nodiscard]] bool requester_waiting() const noexcept override {
    return gave_up_ == nullptr || !gave_up_->load(std::memory_order_relaxed);
  }

private:
  std::function<void(R)> on_value_;
  std::function<void(caf::error)> on_error_;
  std::shared_ptr<const std::atomic<bool>> gave_up_;
};

/// Answers a request of an actor with a CAF response message, so the reply runs in the
/// requester's own context like any response. A reply to a requester that has terminated is
/// reported to the runtime's dead-letter office (CAF would drop it without a trace).
template <class R>
class actor_sink final : public reply_sink<R> {
public:
  actor_sink(caf::scheduled_actor* requester, caf::message_id response_id)
      : requester_(requester), keep_alive_(caf::actor_cast<caf::strong_actor_ptr>(requester)),
        response_id_(response_id) {}

  void complete(R value) override { send(caf::make_message(std::move(value)), typeid(R).name()); }
  void fail(caf::error err) override {
    send(caf::make_message(std::move(err)), typeid(caf::error).name());
  }

  // False once the requester terminated; a request that timed out on the requester still reads
  // true (CAF keeps its response handlers to the actor).
  [[nodiscard]] bool requester_waiting() const noexcept override {
    return !requester_->mailbox().closed();
  }

private:
  void send(caf::message msg, const char* type) {
    // A closed inbox means the requester terminated. A requester that terminates between this
    // check and the enqueue loses the reply uncounted: CAF's enqueue does not say whether it
    // refused the message.
    if (requester_->mailbox().closed()) {
      if (auto* rt = runtime::of(requester_->home_system()))
        rt->dead_letters()->report(
            dead_letter{requester_->name(), type, make_error(mailbox_errc::receiver_dead)});
      return;
    }
    // nullptr execution unit: the receiver's worker is not ours, so CAF must schedule the
    // requester through its thread-safe path.
    keep_alive_->enqueue(nullptr, response_id_, std::move(msg), nullptr);
  }

  caf::scheduled_actor* requester_;
  // The requester's memory stays valid while this reference exists, even after it terminated.
  caf::strong_actor_ptr keep_alive_;
  caf::message_id response_id_;
};

} // namespace troupe::detail
