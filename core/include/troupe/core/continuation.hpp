#pragma once

#include <cstdint>
#include <functional>
#include <typeinfo>
#include <utility>

#include <caf/error.hpp>
#include <caf/expected.hpp>

namespace troupe {

/// A reply travelling back to a requesting Troupe actor through its reply queue
/// (troupe::actor::post_reply). Runs on the requester.
///
/// A reply with a non-zero `request_id` is matched to the continuation registered under that id
/// (troupe::actor::add_request); a reply with id 0 carries its own continuation and run() is
/// called instead (a request without timeout, a barrier release).
///
/// Thread safety: built on any thread, handed over by post_reply, then used only on the
/// requester.
class reply_job {
public:
  explicit reply_job(uint64_t id) : request_id(id) {}
  virtual ~reply_job() = default;
  /// For replies that carry their own continuation (request_id 0): runs it on the requester.
  virtual void run() {}
  /// The C++ type of the answer this job carries (typeid name), or nullptr for a job that is
  /// no answer to a request (a barrier release). A job with a type that reaches a terminated
  /// requester is reported as a dead letter.
  [[nodiscard]] virtual const char* message_type() const noexcept { return nullptr; }
  uint64_t request_id;
};

/// What a requesting Troupe actor does with a reply or a failure; lives in the actor's table of
/// outstanding requests, keyed by request id (O(1) correlation, unlike CAF's linear search).
/// Exactly one of deliver() or fail() is called, on the requester; neither is called if the
/// requester terminates first.
class continuation {
public:
  virtual ~continuation() = default;
  virtual void deliver(reply_job& reply) = 0;
  virtual void fail(caf::error err) = 0;
};

/// The reply of a request made by a Troupe actor, on its way back through that actor's reply
/// queue.
template <class R>
class reply_value final : public reply_job {
public:
  reply_value(uint64_t id, caf::expected<R> x) : reply_job(id), result(std::move(x)) {}
  [[nodiscard]] const char* message_type() const noexcept override {
    return result ? typeid(R).name() : typeid(caf::error).name();
  }
  caf::expected<R> result;
};

/// The requester's side of a Troupe actor's request: the then() callbacks. Expects its replies
/// as reply_value<R>.
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

} // namespace troupe
