#pragma once

#include <cstdint>
#include <functional>
#include <type_traits>
#include <typeinfo>
#include <utility>

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/unit.hpp>

#include "troupe/introspection/trace.hpp"
#include "troupe/scheduler/recycled_blocks.hpp"

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
  /// `id`: the request's id from actor::add_request, or 0 for a job that runs itself.
  explicit reply_job(uint64_t id) : request_id(id) {}
  virtual ~reply_job() = default;
  /// For replies that carry their own continuation (request_id 0): runs it on the requester.
  virtual void run() {}
  /// The C++ type of the answer this job carries (typeid name), or nullptr for a job that is
  /// no answer to a request (a barrier release). A job with a type that reaches a terminated
  /// requester is reported as a dead letter.
  [[nodiscard]] virtual const char* message_type() const noexcept { return nullptr; }
  /// The id of the request this job answers; 0 when run() does the work.
  uint64_t request_id;
  /// The trace current where the job was made (the answering handler's, which is the
  /// request's); run() and a matched continuation run with it (see troupe::trace_id).
  trace_id trace = current_trace();
};

/// What a requesting Troupe actor does with a reply or a failure; lives in the actor's table of
/// outstanding requests, keyed by request id (O(1) correlation, unlike CAF's linear search).
/// Exactly one of deliver() or fail() is called, on the requester; neither is called if the
/// requester terminates first.
class continuation {
public:
  virtual ~continuation() = default;
  /// Takes the reply that matched this request's id (a reply_value of the expected type).
  virtual void deliver(reply_job& reply) = 0;
  /// The request failed without a reply: a send failure or a timeout (actor::fail_request).
  virtual void fail(caf::error err) = 0;
  /// The trace current when the request was made: deliver() and fail() run with it.
  trace_id trace = current_trace();
};

namespace detail {

/// The value of a successful reply: caf::expected<caf::unit_t> (an acknowledgement) holds none
/// to take, so it gives caf::unit.
template <class R>
R take_value(caf::expected<R>& x) {
  if constexpr (std::is_same_v<R, caf::unit_t>)
    return caf::unit;
  else
    return std::move(*x);
}

} // namespace detail

/// The reply of a request made by a Troupe actor, on its way back through that actor's reply
/// queue.
template <class R>
class reply_value final : public reply_job, public recycled_blocks<reply_value<R>> {
public:
  /// The answer `x` (a value or an error) to the request with id `id`.
  reply_value(uint64_t id, caf::expected<R> x) : reply_job(id), result(std::move(x)) {}
  [[nodiscard]] const char* message_type() const noexcept override {
    return result ? typeid(R).name() : typeid(caf::error).name();
  }
  /// The answer: the handler's value, or the error it failed the request with.
  caf::expected<R> result;
};

/// The requester's side of a Troupe actor's request: the then() callbacks. Expects its replies
/// as reply_value<R>. troupe::request() stores the callbacks as they were given (`F`, `G`), so
/// that a request costs no std::function.
template <class R, class F = std::function<void(R)>, class G = std::function<void(caf::error)>>
class continuation_of final : public continuation {
public:
  /// `f` runs with a value, `g` with an error, both on the requester.
  continuation_of(F f, G g) : on_value_(std::move(f)), on_error_(std::move(g)) {}

  /// Calls the value or the error callback with the reply_value<R>'s result.
  void deliver(reply_job& reply) override {
    auto& result = static_cast<reply_value<R>&>(reply).result;
    if (result)
      on_value_(detail::take_value(result));
    else
      on_error_(std::move(result.error()));
  }

  /// Calls the error callback.
  void fail(caf::error err) override { on_error_(std::move(err)); }

private:
  F on_value_;
  G on_error_;
};

} // namespace troupe
