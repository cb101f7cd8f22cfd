#pragma once

#include <chrono>
#include <concepts>
#include <functional>
#include <memory>
#include <type_traits>
#include <typeinfo>
#include <utility>

#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/local_actor.hpp>

#include "troupe/mailbox/detail/mailbox_core.hpp"
#include "troupe/mailbox/mailbox_actor.hpp"
#include "troupe/mailbox/mailbox_errc.hpp"
#include "troupe/mailbox/permit.hpp"
#include "troupe/mailbox/send_result.hpp"
#include "troupe/scheduler/result.hpp"

namespace troupe {

template <class T, class... Ts>
inline constexpr bool is_one_of_v = (std::is_same_v<T, Ts> || ...);

/// A typed handle to an actor that accepts exactly the message types Ts...: sending anything
/// else does not compile. Copies share the same mailbox; the actor lives while a handle to it
/// exists (as with CAF's handles) or until it quits.
///
/// Example:
///
///   auto mb = troupe::spawn_mailbox<job, get_count>(rt, opts, [](auto* self) {
///     return troupe::handlers{[](job& j) { run(j); }, [&](get_count&) { return n; }};
///   }).value();
///   mb.send(job{1});                       // from a thread: may block under backpressure
///   mb.send(self, job{2});                 // from an actor: never blocks its worker
///
/// Ordering: messages from one sender (an actor, or a thread outside actors) are handled in the
/// order sent; messages from threads outside actors keep that order among each other too (one
/// lane, as one Tokio channel). Each sending actor has a lane of its own in an unbounded
/// mailbox (senders beyond seven share lanes), so that busy senders do not contend: messages of
/// different lanes are interleaved in no promised order, even when one was sent because the
/// other had been (Erlang promises order per pair of processes only, too).
/// Closing: close() shuts the mailbox for senders (Tokio's channel close). What was queued is
/// still handled; then the actor sees the close (troupe::mailbox_closed: a handler for it runs,
/// or the actor stops normally). Later sends fail with mailbox_errc::closed and hand the
/// message back; a thread blocked for room and a message parked for room are released with
/// `closed` at once.
///
///   mb.send(job{1});
///   mb.close();                            // job{1} is still handled
///   auto r = mb.send(job{2});              // r.error() == mailbox_errc::closed, message back
///
/// Reservations (Tokio's `reserve` / `try_reserve`): a permit holds one slot of a bounded
/// mailbox, so that the message sent through it later is never refused (troupe::permit).
///
///   auto p = mb.reserve(1s);               // waits for a slot, like send(msg, 1s)
///   if (p) p->send(job{3});                // cannot fail; an unsent permit gives the slot back
///
/// Errors: sends return send_result (mailbox_errc::mailbox_full, send_timeout, receiver_dead,
/// closed); a plain send to a terminated actor is also counted as a dead letter.
/// Thread safety: every member may be called from any thread; send(self, ...) only from inside
/// the actor `self`.
template <class... Ts>
class mailbox {
public:
  /// Internal: the shared queue state behind the handle.
  using core_type = detail::mailbox_core<Ts...>;
  /// Internal: one queued message with its reply sink (null for a plain send).
  using envelope_type = typename core_type::envelope_type;

  /// An empty handle; converts to false. Assign one from spawn_mailbox before use.
  mailbox() = default;
  /// Internal: spawn_mailbox builds handles from its actor, which owns the core.
  explicit mailbox(caf::actor owner)
      : core_(owner ? owner_self(owner)->core().get() : nullptr), owner_(std::move(owner)) {}

  /// A second handle to the same mailbox.
  mailbox(const mailbox&) = default;
  /// As the copy constructor.
  mailbox& operator=(const mailbox&) = default;
  /// The moved-from handle is empty.
  mailbox(mailbox&& other) noexcept
      : core_(std::exchange(other.core_, nullptr)), owner_(std::move(other.owner_)) {}
  /// As the move constructor: `other` is empty afterwards.
  mailbox& operator=(mailbox&& other) noexcept {
    core_ = std::exchange(other.core_, nullptr);
    owner_ = std::move(other.owner_);
    return *this;
  }
  ~mailbox() = default;

  /// True unless the handle is empty (default-constructed or moved from). Says nothing about
  /// the actor: see is_closed().
  [[nodiscard]] explicit operator bool() const noexcept { return core_ != nullptr; }

  // -- sending ---------------------------------------------------------------------------------

  /// Sends from a thread. Under backpressure, blocks until there is room or the mailbox's
  /// send_timeout passes (then fails with send_timeout and hands the message back).
  template <class T>
  requires is_one_of_v<T, Ts...> send_result<T> send(T msg)
  const { return send(std::move(msg), core_->send_timeout()); }

  /// Sends from a thread, blocking under backpressure for at most `timeout`.
  template <class T>
  requires is_one_of_v<T, Ts...> send_result<T> send(T msg, std::chrono::milliseconds timeout)
  const {
    return finish<T>(envelope_type{std::move(msg), nullptr}, nullptr,
                     std::chrono::steady_clock::now() + timeout);
  }

  /// Sends from a thread without ever blocking; a full mailbox under backpressure fails with
  /// mailbox_full and hands the message back.
  template <class T>
  requires is_one_of_v<T, Ts...> send_result<T> try_send(T msg)
  const {
    auto r = finish<T>(envelope_type{std::move(msg), nullptr}, nullptr,
                       std::chrono::steady_clock::time_point{});
    if (!r && r.error() == mailbox_errc::send_timeout)
      return send_result<T>::failed(make_error(mailbox_errc::mailbox_full),
                                    std::move(*r.message()));
    return r;
  }

  /// Sends from inside the actor `self`; never blocks its worker. Under backpressure a full
  /// mailbox parks the message and enqueues it, in order, when room frees (was_parked()).
  template <class T>
  requires is_one_of_v<T, Ts...> send_result<T> send(caf::local_actor* self, T msg)
  const { return finish<T>(envelope_type{std::move(msg), nullptr}, self, {}); }

  /// Like send(self, msg), with a continuation: `on_sent` runs in `self`'s context once the
  /// message is in the mailbox — at once when there is room, later (as a response to `self`)
  /// when the message was parked under backpressure — and never when the send failed or the
  /// message was dropped (the result says which). A producer that sends its next message from
  /// `on_sent` never has more than one message parked: Tokio's `send().await`, for actors.
  ///
  ///   void produce(Self* self, int i) {
  ///     if (i < n) mb.send(self, item{i}, [=] { produce(self, i + 1); });
  ///   }
  template <class T, class Self>
  requires is_one_of_v<T, Ts...> && std::derived_from<Self, caf::local_actor> send_result<T>
  send(Self* self, T msg, std::function<void()> on_sent)
  const {
    auto response_id = self->new_request_id(caf::message_priority::normal).response_id();
    std::function<void()> notify;
    if (on_sent)
      notify = [sender = caf::actor_cast<caf::strong_actor_ptr>(self), response_id] {
        sender->enqueue(nullptr, response_id, caf::make_message(), nullptr);
      };
    auto result = finish<T>(envelope_type{std::move(msg), nullptr}, self, {}, std::move(notify));
    if (on_sent) {
      if (result.state() == send_result<T>::status::accepted)
        on_sent();
      else if (result.was_parked())
        // Registered before this handler returns, so before the response can be handled.
        self->add_multiplexed_response_handler(response_id,
                                               caf::behavior{[f = std::move(on_sent)] { f(); }});
    }
    return result;
  }

  // -- reservations ----------------------------------------------------------------------------

  /// Holds one slot for a later send, without blocking: a permit, or an error at once. The slot
  /// counts against the capacity like a queued message until the permit sends through it or
  /// is destroyed, so `capacity` outstanding permits make every other send see a full mailbox.
  /// A reservation never evicts, drops or parks anything: under every overflow policy it is
  /// granted while queued messages + permits < capacity, and refused with mailbox_full
  /// otherwise (also while actor messages are parked, which go first). An unbounded mailbox
  /// grants every reservation at once; its permit holds no slot. Under drop_oldest, a plain
  /// send that finds the free slots all held by permits evicts the oldest queued message, or
  /// is dropped itself when none is queued.
  ///
  /// Errors: mailbox_errc::mailbox_full, closed (close() was called), receiver_dead (the actor
  /// terminated). No error is counted in the metrics: there is no message yet.
  ///
  /// Thread safety: any thread, and from inside an actor: this is how an actor reserves. An
  /// actor gets no waiting form (it would block its worker); on mailbox_full it sends with
  /// send(self, msg, on_sent) instead, which parks the message and runs `on_sent` once it is in.
  ///
  ///   if (auto p = mb.try_reserve())
  ///     p->send(job{1});
  ///   else if (p.error() == troupe::mailbox_errc::mailbox_full)
  ///     retry_later();
  [[nodiscard]] result<permit<Ts...>> try_reserve() const { return reserve_until(false, {}); }

  /// Holds one slot for a later send, blocking the calling thread until a slot frees (a
  /// message is handled or a permit given back) or `timeout` passes. Waits only under the
  /// backpressure policy; under drop_newest, drop_oldest and fail it answers at once, like
  /// try_reserve() (as send(msg, timeout) does not wait under them either).
  ///
  /// Errors: mailbox_errc::send_timeout (no slot in time), mailbox_full (non-blocking policy),
  /// closed (also when close() releases the waiting thread), receiver_dead.
  ///
  /// Thread safety: any thread that is not an actor's worker (it blocks); actors use
  /// try_reserve().
  [[nodiscard]] result<permit<Ts...>> reserve(std::chrono::milliseconds timeout) const {
    return reserve_until(true, std::chrono::steady_clock::now() + timeout);
  }

  /// reserve(timeout) with the mailbox's send_timeout (mailbox_options::send_timeout).
  [[nodiscard]] result<permit<Ts...>> reserve() const { return reserve(core_->send_timeout()); }

  // -- closing and pausing -----------------------------------------------------------------------

  /// Closes the mailbox for senders; idempotent. Queued messages are still handled, then the
  /// actor sees troupe::mailbox_closed. Sends that start after close() returned fail with
  /// mailbox_errc::closed (a send running concurrently with close() may still be accepted).
  /// Thread safety: any thread.
  void close() const { core_->close_for_senders(caf::actor_cast<caf::abstract_actor*>(owner_)); }

  /// Pauses the consumer: it finishes the handler it runs now and then takes no message until
  /// resume(). Senders are not affected: messages queue, and a bounded mailbox that fills
  /// applies its overflow policy (backpressure, drop_newest, drop_oldest, fail) as usual. A
  /// close is seen only after resume() and the drain. Timers, replies to the actor's own
  /// requests and CAF messages still run. Idempotent.
  /// Thread safety: any thread (also the actor itself).
  ///
  ///   mb.pause();
  ///   mb.send(job{1}); mb.send(job{2});    // queued, not handled
  ///   mb.resume();                         // job{1}, then job{2}
  void pause() const noexcept { core_->pause(); }

  /// Lets a paused consumer take its queued messages again, in order. Idempotent. Any thread.
  void resume() const { core_->resume(caf::actor_cast<caf::abstract_actor*>(owner_)); }

  /// Whether pause() is in effect. Any thread.
  [[nodiscard]] bool is_paused() const noexcept { return core_->paused(); }

  /// Whether the mailbox refuses new messages: closed for senders, or its actor terminated.
  [[nodiscard]] bool is_closed() const noexcept {
    return core_->closed_for_senders() || core_->closed();
  }

  /// A snapshot of the mailbox's counters. Any thread.
  [[nodiscard]] mailbox_metrics metrics() const { return core_->metrics(); }

  /// The CAF actor behind the mailbox, for monitors, links and exit messages.
  [[nodiscard]] const caf::actor& actor() const noexcept { return owner_; }
  /// The CAF id of that actor.
  [[nodiscard]] caf::actor_id id() const noexcept { return owner_.id(); }
  /// Internal: the shared queue state (null for an empty handle).
  [[nodiscard]] const std::shared_ptr<core_type>& core() const noexcept {
    static const std::shared_ptr<core_type> none;
    return owner_ ? owner_self(owner_)->core() : none;
  }

  /// Internal: pushes a prepared envelope (used by requests and coroutine sends). Unless the
  /// outcome is accepted or parked, `env` stays with the caller. A parked envelope runs
  /// `on_enqueued` once it is in the queue, or, if the mailbox closes or its actor terminates
  /// first, goes to `on_failed` when set (else it becomes a dead letter; a request fails).
  /// `self` is the sending actor, nullptr for a thread (which may block until `deadline`).
  admission_outcome push(envelope_type& env, caf::local_actor* self,
                         std::chrono::steady_clock::time_point deadline,
                         std::function<void()> on_enqueued = {},
                         typename core_type::parked_failure on_failed = {}) const {
    return core_->push(env, caf::actor_cast<caf::abstract_actor*>(owner_), self, deadline,
                       std::move(on_enqueued), std::move(on_failed));
  }

  /// Handles are equal when they share one mailbox.
  friend bool operator==(const mailbox& x, const mailbox& y) noexcept { return x.core_ == y.core_; }

private:
  result<permit<Ts...>> reserve_until(bool wait,
                                      std::chrono::steady_clock::time_point deadline) const {
    switch (core_->reserve(wait, deadline)) {
    case admission_outcome::accepted:
      return permit<Ts...>{core(), owner_};
    case admission_outcome::timeout:
      return make_error(mailbox_errc::send_timeout);
    case admission_outcome::closed:
      return make_error(mailbox_errc::closed);
    case admission_outcome::receiver_dead:
      return make_error(mailbox_errc::receiver_dead);
    case admission_outcome::full:
    case admission_outcome::parked:
    case admission_outcome::dropped:
      break;
    }
    return make_error(mailbox_errc::mailbox_full);
  }

  template <class T>
  send_result<T> finish(envelope_type env, caf::local_actor* self,
                        std::chrono::steady_clock::time_point deadline,
                        std::function<void()> on_enqueued = {}) const {
    switch (push(env, self, deadline, std::move(on_enqueued))) {
    case admission_outcome::accepted:
      return send_result<T>::accepted();
    case admission_outcome::parked:
      return send_result<T>::parked();
    case admission_outcome::dropped:
      return send_result<T>::dropped();
    case admission_outcome::full:
      return send_result<T>::failed(make_error(mailbox_errc::mailbox_full), env.template take<T>());
    case admission_outcome::timeout:
      return send_result<T>::failed(make_error(mailbox_errc::send_timeout), env.template take<T>());
    case admission_outcome::closed:
      return send_result<T>::failed(make_error(mailbox_errc::closed), env.template take<T>());
    case admission_outcome::receiver_dead:
      break;
    }
    auto reason = make_error(mailbox_errc::receiver_dead);
    core_->count_dead_letter(typeid(T).name(), reason);
    return send_result<T>::failed(std::move(reason), env.template take<T>());
  }

  static mailbox_self<Ts...>* owner_self(const caf::actor& owner) noexcept {
    return static_cast<mailbox_self<Ts...>*>(caf::actor_cast<caf::abstract_actor*>(owner));
  }

  // The actor's core: `owner_` keeps the actor object, and so its core, alive. One reference
  // count per handle, on CAF's control block: a handle copied for every request (a gather of
  // a thousand) no longer also counts on the core's first cache line, which the actor's worker
  // writes as it takes messages.
  core_type* core_ = nullptr;
  caf::actor owner_;
};

} // namespace troupe
