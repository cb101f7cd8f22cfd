#pragma once

// The answer to one request, given later: a handler of a typed mailbox that declares a
// response_promise parameter takes the request's reply sink into the promise instead of
// answering with its return value, keeps the promise (copies share one answer) and delivers
// from another message's handler, a reply continuation or another thread.
//
// Example (a get_next request is answered by the next item that arrives):
//
//   struct get_next { using reply_type = int64_t; };
//   struct item { int64_t value; };
//
//   auto next = troupe::spawn_mailbox<get_next, item>(rt, {}, [](auto*) {
//     auto waiting = std::make_shared<std::vector<troupe::response_promise<int64_t>>>();
//     return troupe::handlers{
//       [waiting](get_next&, troupe::response_promise<int64_t> p) {
//         waiting->push_back(std::move(p));              // no answer yet
//       },
//       [waiting](item& i) {
//         for (auto& p : *waiting)
//           p.deliver(i.value);                          // each requester gets its answer
//         waiting->clear();
//       },
//     };
//   }).value();
//
// Exactly once: the first deliver() of any copy takes the sink under the promise's lock and
// answers outside it (a sink may run the requester's callback inline); every later deliver()
// finds the promise answered and returns mailbox_errc::already_answered. The last copy to go
// answers an unanswered request with mailbox_errc::broken_promise, so no requester waits for a
// promise nobody holds. A mailbox actor destroys its handlers (and the promises they hold) when
// it terminates, so promises held in handler state answer broken_promise then.

#include <memory>
#include <mutex>
#include <type_traits>
#include <utility>

#include <caf/error.hpp>
#include <caf/sec.hpp>

#include "troupe/core/reply_sink.hpp"
#include "troupe/mailbox/mailbox_errc.hpp"

namespace troupe {

/// The answer to one request of a typed mailbox, to be given later. A handler receives it by
/// declaring it as its second parameter, `[](get_next&, troupe::response_promise<int64_t> p)`,
/// where R must be the request's reply_t; such a handler returns void and answers through the
/// promise, now or later. Copies share one answer.
///
/// Example:
///
///   [waiting](get_next&, troupe::response_promise<int64_t> p) { waiting->push_back(p); }
///   // later, in the handler of another message:
///   for (auto& p : *waiting) p.deliver(i.value);
///
/// Answers: deliver(value) or deliver(error) answers the requester, exactly once over all
/// copies. When the last copy is destroyed unanswered (also when the actor holding it
/// terminates), the requester gets mailbox_errc::broken_promise. When the handler throws before
/// the promise answered, the requester gets handler_threw, as for any handler.
///
/// Plain sends: a handler with a promise also handles the message sent with send(); its
/// promise stands for no requester. deliver() then answers nobody and returns no error (the
/// handler need not know how the message came), the second deliver() returns already_answered
/// as for a request, and pending() is false from the start.
///
/// Errors (returned by deliver, never thrown): mailbox_errc::already_answered (a copy answered
/// before; nothing sent), mailbox_errc::empty_promise (default-constructed or moved from),
/// caf::sec::invalid_argument (deliver of an empty caf::error; the promise stays unanswered).
///
/// Thread safety: every member on any thread; copies may be used concurrently. A deliver
/// happens-before the requester sees the answer (the requester's thread or continuation sees
/// everything the delivering thread did before it).
///
/// Cost: one allocation per handled message (the shared state), only for handlers that take a
/// promise.
template <class R>
class response_promise {
public:
  /// The type of the answer (the request's reply_t).
  using value_type = R;

  /// An empty promise: pending() is false and deliver() returns mailbox_errc::empty_promise.
  response_promise() noexcept = default;

  /// Internal: made by the mailbox actor for the message it dispatches; `sink` is the
  /// request's reply sink, or null for a plain send.
  explicit response_promise(std::unique_ptr<reply_sink_base> sink)
      : state_(std::make_shared<state>(std::move(sink))) {}

  /// True unless the promise is empty (default-constructed or moved from). Says nothing about
  /// whether it answered: see pending().
  [[nodiscard]] explicit operator bool() const noexcept { return state_ != nullptr; }

  /// Answers the request with `value`. Returns no error when this call answered (or the
  /// message was a plain send), otherwise already_answered or empty_promise and sends nothing.
  /// Not [[nodiscard]]: answering is the point of the call, and its errors report a misuse
  /// the caller may well choose to ignore (an answer raced by another copy).
  caf::error deliver(R value) const {
    std::unique_ptr<reply_sink_base> sink;
    if (auto refused = claim(sink))
      return refused;
    if (sink)
      complete_reply<R>(sink, std::move(value));
    return caf::error{};
  }

  /// Answers the request with the error `err` (the requester sees it as its request's error).
  /// Returns as deliver(value); an empty `err` (caf::none) is refused with
  /// caf::sec::invalid_argument and leaves the promise unanswered.
  caf::error deliver(caf::error err) const requires(!std::is_same_v<R, caf::error>) {
    if (!err)
      return caf::make_error(caf::sec::invalid_argument);
    std::unique_ptr<reply_sink_base> sink;
    if (auto refused = claim(sink))
      return refused;
    if (sink)
      fail_reply(sink, std::move(err));
    return caf::error{};
  }

  /// Whether a requester still waits for this promise's answer: false once any copy answered,
  /// for an empty promise, for a plain send, and once the reply sink knows its requester gave
  /// up. What the sink can know:
  ///  - a Troupe actor's request (troupe::request(self, ...), coro::request): false once the
  ///    requester terminated; still true after its own timeout fired (only the requester's
  ///    thread knows that; the late answer is dropped there);
  ///  - a CAF actor's request (request(caf_self, ...)): false once the requester terminated;
  ///    still true after its timeout fired;
  ///  - a thread's ask(): false once ask() returned request_timeout; for ask_async() (and the
  ///    combinators built on it) it stays true, since the sink cannot see the consumer.
  /// A snapshot: the requester may give up right after it returned true, and an answer to a
  /// requester that gave up is still no error for deliver() (a terminated requester counts it
  /// as a dead letter).
  [[nodiscard]] bool pending() const noexcept {
    if (!state_)
      return false;
    std::lock_guard guard{state_->mtx};
    return state_->sink != nullptr && state_->sink->requester_waiting();
  }

private:
  struct state {
    explicit state(std::unique_ptr<reply_sink_base> s) noexcept : sink(std::move(s)) {}
    state(const state&) = delete;
    state& operator=(const state&) = delete;
    // The last copy went: no one can answer any more, so the requester must not wait.
    ~state() {
      if (sink)
        fail_reply(sink, make_error(mailbox_errc::broken_promise));
    }
    std::mutex mtx;
    std::unique_ptr<reply_sink_base> sink; // null once answered, or for a plain send
    bool answered = false;
  };

  // Marks the promise answered and hands over its sink (null for a plain send); the caller
  // answers outside the lock, since a sink may run the requester's callback inline.
  caf::error claim(std::unique_ptr<reply_sink_base>& sink) const {
    if (!state_)
      return make_error(mailbox_errc::empty_promise);
    std::lock_guard guard{state_->mtx};
    if (state_->answered)
      return make_error(mailbox_errc::already_answered);
    state_->answered = true;
    sink = std::move(state_->sink);
    return caf::error{};
  }

  std::shared_ptr<state> state_;
};

} // namespace troupe
