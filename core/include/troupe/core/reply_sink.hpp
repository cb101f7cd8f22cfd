#pragma once

// Where the answer to one request goes. A request travels with a reply sink; whoever handles it
// (a typed mailbox's handler, a pool worker, the network layer) answers it exactly once with
// complete_reply() or fail_reply(), from whatever thread it runs on. The sink decides how the
// answer reaches the requester: a callback for threads outside actors, a CAF response message
// for plain CAF actors, the reply queue of a Troupe actor (troupe/core/actor_reply_sink.hpp).
//
// Example (answering inside a handler):
//
//   void handle(get_count&, std::unique_ptr<troupe::reply_sink_base>& reply) {
//     troupe::complete_reply<int64_t>(reply, count_);
//   }
//
// Thread safety: a sink is owned by one thread at a time, handed over with its request.

#include <memory>
#include <type_traits>

#include <caf/error.hpp>
#include <caf/unit.hpp>

namespace troupe {

namespace detail {

template <class T, class = void>
struct reply_of {
  using type = caf::unit_t;
};

template <class T>
struct reply_of<T, std::void_t<typename T::reply_type>> {
  using type = std::conditional_t<std::is_void_v<typename T::reply_type>, caf::unit_t,
                                  typename T::reply_type>;
};

} // namespace detail

/// The reply type of a request of type T: `T::reply_type` when T declares one, otherwise
/// caf::unit_t (an acknowledgement that the handler ran).
///
///   struct get_count { using reply_type = int64_t; };
template <class T>
using reply_t = typename detail::reply_of<T>::type;

/// Where the answer to one request goes: a future, an actor, a combinator. Exactly one of
/// complete() or fail() is called, once, from whichever thread handled the request.
class reply_sink_base {
public:
  virtual ~reply_sink_base() = default;
  /// Answers the request with an error. Called through fail_reply(), which handles ownership.
  virtual void fail(caf::error err) = 0;

  /// Whether an answer given now could still reach a waiting requester: a hint, and a snapshot
  /// (the requester may give up right after). The base answers true, meaning "not known to have
  /// given up"; a sink that can see its requester (an actor that terminated, a thread whose
  /// wait timed out) overrides it. An answer to a requester that gave up is never an error for
  /// the one who answers: it becomes a dead letter or is dropped, as the sink documents.
  /// Thread safety: any thread, concurrently with the requester, but not with complete() or
  /// fail() on the same sink.
  [[nodiscard]] virtual bool requester_waiting() const noexcept { return true; }

  /// True for sinks that travel on with the answer (they become the reply itself, saving an
  /// allocation per request): answering hands them their own ownership.
  [[nodiscard]] bool answer_takes_ownership() const noexcept { return takes_ownership_; }

protected:
  /// Set by sinks that become the reply themselves; see answer_takes_ownership().
  bool takes_ownership_ = false;
};

/// A reply sink for answers of type R (see reply_t).
template <class R>
class reply_sink : public reply_sink_base {
public:
  /// Answers the request with a value. Called through complete_reply(), which handles
  /// ownership.
  virtual void complete(R value) = 0;
};

/// Answers the request behind `sink` with a value; `sink` is empty afterwards.
template <class R>
void complete_reply(std::unique_ptr<reply_sink_base>& sink, R value) {
  auto* target = static_cast<reply_sink<R>*>(sink.get());
  if (target->answer_takes_ownership())
    (void)sink.release();
  target->complete(std::move(value));
  sink.reset();
}

/// Answers the request behind `sink` with an error; `sink` is empty afterwards.
inline void fail_reply(std::unique_ptr<reply_sink_base>& sink, caf::error err) {
  auto* target = sink.get();
  if (target->answer_takes_ownership())
    (void)sink.release();
  target->fail(std::move(err));
  sink.reset();
}

} // namespace troupe
