#pragma once

// The shared engine behind a typed mailbox: the queue, overflow handling, closing and the
// counters. How a push wakes the owning actor is troupe::actor's resume protocol
// (troupe/core/actor.hpp); this file adds the two rules that concern the queue itself:
//
//  - Closing: when the actor terminates it sets `closed_`, fences, and empties the queue under
//    the purge lock: requests are answered with receiver_dead, messages become dead letters. A
//    producer fences after its push and then reads `closed_`; if set, it empties the queue too,
//    under the same mutex. By the two fences one of them sees the other, so nothing stays behind
//    unanswered. An unbounded queue's push needs no fence: its slot claim is a seq_cst
//    read-modify-write, and the producer's reads after it (`closed_`, the owner's inbox) are
//    seq_cst loads, so the claim is ordered before them in the single total order the other
//    side's fence takes part in. What the other side sees of the push is then the claim, not
//    yet the element, so the purge waits for every element claimed before it looked
//    (laned_mpsc_queue::drain_claimed, lane by lane), as the owner going idle counts claims
//    (troupe::actor's post-block check). On x86 the fence cost a fifth of fan_in's producers:
//    the wait for the element's own stores to drain.
//  - Backpressure: a bounded queue admits through troupe::bounded_admission (the engine worker
//    pools share): the overflow policy, parked actor senders, waiting threads and their
//    handshake live there. The drop_oldest ring evicts by itself and an unbounded queue never
//    refuses, so those two take their items directly.
//  - Size: a mailbox is created per actor, and most never see backpressure: what parked senders,
//    waiting threads and the counts of lost items need is allocated by the first loss, parked
//    sender or waiting thread (bounded_admission), and of the options the core keeps the fields it
//    reads, the name only when there is one. No member is padded to a cache line. Which queue
//    a mailbox has follows from its options, so one pointer holds it (queue_). An unbounded
//    queue (whose object is four cache lines: the lane table with the consumer's turn, and its
//    first lane's three, which keep producers and the consumer apart) is made by the first
//    push: an actor that is never sent anything, as most idle ones in a large tree, has none.
//    The racing first pushes install one queue with a compare-and-swap; the loser frees its
//    own, which nobody saw.
//  - Closing for senders (mailbox::close, Tokio's channel close): `sender_closed_` is set once,
//    then every waiting producer is released (threads woken, parked envelopes failed with
//    `closed`) and the owner is woken. The owner drains what was queued and, finding the queue
//    empty with `sender_closed_` set, sees the close (mailbox_self::drain_queue). A push that
//    read `sender_closed_` clear just before the close is not refused; it lands in the queue
//    and is handled like any queued message, or, if the owner saw the queue empty first, after
//    the owner saw the close (a dead letter when the owner stopped). Only a send that runs
//    concurrently with close() can land so; a send that starts after close() returned fails.
//    Keeping that race open keeps the per-push path free of a second read-modify-write.
//  - Pausing: while `paused_` is set the owner takes no message (its go-predicate reads the
//    flag before each pop) and counts its queue as empty, so it goes idle; producers keep
//    pushing, and a bounded queue fills and applies its overflow policy. resume() clears the
//    flag, fences and wakes the owner; the owner going idle fences and then reads the flag
//    (troupe::actor's post-block check), so one of them sees the other.
//  - Reservations (mailbox::try_reserve / reserve, troupe::permit): a bounded queue holds a
//    count of reserved slots beside its queued ones, and every push and reservation counts both
//    against the capacity. A permit's send fills its slot without a capacity check
//    (push_reserved); a plain push that raced the reservation for the last slot can leave the
//    ring without room for it (bounded_mpsc_queue's class comment), and then the message parks
//    like an actor's send and enters at the next pop. Giving a reservation back, and the
//    moment after a permit's send (its message counted twice for a moment), is freeing room:
//    the fenced room_freed() of the backpressure rule. A permit of a mailbox closed for
//    senders, or whose owner terminated, turns its message into a dead letter.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <caf/abstract_actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/actor_cast.hpp>
#include <caf/atom.hpp>
#include <caf/execution_unit.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>
#include <caf/message_id.hpp>
#include <caf/resumable.hpp>
#include <caf/scheduled_actor.hpp>
#include <nlohmann/json.hpp>

#include "troupe/core/actor.hpp"
#include "troupe/core/laned_mpsc_queue.hpp"
#include "troupe/mailbox/bounded_admission.hpp"
#include "troupe/mailbox/detail/bounded_mpsc_queue.hpp"
#include "troupe/mailbox/detail/envelope.hpp"
#include "troupe/mailbox/detail/locked_ring.hpp"
#include "troupe/mailbox/mailbox_errc.hpp"
#include "troupe/mailbox/mailbox_metrics.hpp"
#include "troupe/mailbox/mailbox_options.hpp"
#include "troupe/runtime/dead_letter_office.hpp"
#include "troupe/scheduler/recycled_allocator.hpp"
#include "troupe/scheduler/running_job.hpp"
#include "troupe/scheduler/spin_lock.hpp"
#include "troupe/scheduler/store_load_barrier.hpp"

namespace troupe::detail {

/// The part of a mailbox core that does not depend on the message types.
class mailbox_core_base {
public:
  /// `office` is the id (dead_letter_office::id()) of the office its dead letters go to; 0
  /// for none.
  mailbox_core_base(mailbox_options opts, std::uint64_t office, std::size_t default_batch);
  mailbox_core_base(const mailbox_core_base&) = delete;
  mailbox_core_base& operator=(const mailbox_core_base&) = delete;
  virtual ~mailbox_core_base() = default;

  /// mailbox_options::name; empty when the mailbox has none.
  [[nodiscard]] const std::string& name() const noexcept;
  /// mailbox_options::send_timeout.
  [[nodiscard]] std::chrono::milliseconds send_timeout() const noexcept { return send_timeout_; }
  [[nodiscard]] std::size_t batch() const noexcept { return batch_; }
  /// The owner terminated.
  [[nodiscard]] bool closed() const noexcept { return closed_.load(std::memory_order_acquire); }
  /// Whether the owner takes no messages for now (mailbox::pause).
  [[nodiscard]] bool paused() const noexcept { return paused_.load(std::memory_order_acquire); }
  /// Closed for senders (mailbox::close); the owner may still drain what was queued.
  [[nodiscard]] bool closed_for_senders() const noexcept {
    return sender_closed_.load(std::memory_order_acquire);
  }

  /// Records a message that reached no handler (reported to the runtime's dead-letter office
  /// too, while the office lives).
  void count_dead_letter(const char* type_name, const caf::error& reason);

  [[nodiscard]] mailbox_metrics metrics_base() const noexcept;

protected:
  /// After a successful push: the closing rule, then troupe::actor's wake protocol (step 2).
  void after_push(caf::abstract_actor* owner, caf::execution_unit* ctx) {
    store_load_barrier(sync_);
    look_after_push(owner, ctx);
  }

  /// after_push for an unbounded queue's push, whose slot claim was a seq_cst read-modify-write
  /// (see Closing at the top of this file).
  void after_claimed_push(caf::abstract_actor* owner, caf::execution_unit* ctx) {
    store_load_barrier_after_seq_cst_rmw(sync_);
    look_after_push(owner, ctx);
  }

  /// The pusher's look at the receiver, after its barrier: seq_cst loads (the closed flag here,
  /// the inbox in wake()), as after_claimed_push needs (on x86 a seq_cst load is a plain load).
  void look_after_push(caf::abstract_actor* owner, caf::execution_unit* ctx) {
    if (closed_.load(std::memory_order_seq_cst)) {
      purge_after_close();
      return;
    }
    static_cast<troupe::actor*>(owner)->wake(ctx);
  }

  /// Empties the queue of a closed mailbox, answering or dead-lettering each envelope.
  virtual void purge_after_close() = 0;

  // The options, kept in what the core reads of them: a core is made per actor, and a whole
  // mailbox_options (its name a std::string) was 64 bytes of every one. Capacity and policy
  // never change: they decide the kind of the queue the core's one pointer holds.
  const std::size_t capacity_;
  std::chrono::milliseconds send_timeout_;
  std::unique_ptr<const std::string> name_; // null when unnamed, as most mailboxes are
  // The dead-letter office by its id: a std::shared_ptr here was a count every spawn took and
  // every exit dropped, on one cache line for all the runtime's mailboxes.
  std::uint64_t office_;
  std::size_t batch_;
  const overflow_policy overflow_;
  std::atomic<bool> closed_{false};
  std::atomic<bool> sender_closed_{false};
  std::atomic<bool> paused_{false};
  // The purge lock (the closing rule): one purger at a time. One byte instead of a std::mutex:
  // it is taken about once per actor's life (at termination) and rarely contended.
  spin_lock purge_mtx_;
  // Anchor of every handshake of this mailbox (store_load_barrier): push vs. close, push vs.
  // the owner going idle, waiting producers vs. the consumer freeing room.
  std::atomic<uint64_t> sync_{0};
  std::atomic<std::size_t> purged_{0};
  std::atomic<std::size_t> dead_letters_{0};
  std::atomic<std::size_t> processed_{0};
  std::atomic<std::size_t> high_water_{0};
};

template <class... Ts>
class mailbox_core;

/// How spawn_mailbox allocates a core: one block for the core and its shared_ptr counts,
/// recycled (one worker spawns a mailbox, another ends it: see recycled_allocator.hpp).
template <class... Ts>
using mailbox_core_allocator = recycled_allocator<mailbox_core<Ts...>>;

template <class... Ts>
class mailbox_core final : public mailbox_core_base,
                           public bounded_admission<envelope<Ts...>, mailbox_core<Ts...>> {
  using admission = bounded_admission<envelope<Ts...>, mailbox_core<Ts...>>;
  friend admission;

public:
  using envelope_type = envelope<Ts...>;
  /// Takes back a parked message that the close or the owner's end failed (see push()).
  using parked_failure = typename admission::failed_callback;

  mailbox_core(mailbox_options opts, std::uint64_t office, std::size_t default_batch)
      : mailbox_core_base(std::move(opts), office, default_batch), admission(overflow_) {
    if (unbounded())
      return; // its queue is made by the first push (see Size at the top of this file)
    // Relaxed: the core reaches other threads through the shared_ptr that owns it.
    if (evicts())
      queue_.store(std::make_unique<evicting_queue>(capacity_).release(),
                   std::memory_order_relaxed);
    else
      queue_.store(std::make_unique<bounded_queue>(capacity_).release(), std::memory_order_relaxed);
  }

  ~mailbox_core() override {
    purge();
    // Every push has returned (the core's last reference is going).
    if (unbounded())
      delete laned(std::memory_order_relaxed);
    else if (evicts())
      delete evicting();
    else
      delete bounded();
  }

  // -- producers (any thread) ----------------------------------------------------------------

  /// Pushes `env` for `owner`. `self` is the sending actor when called from inside one (it is
  /// never blocked), nullptr for a thread, which blocks until `deadline` under backpressure.
  /// Unless the outcome is accepted or parked, `env` stays with the caller.
  /// For a parked envelope, `on_enqueued` runs once it is in the queue, and `on_failed`, when
  /// set, gets it back if the close or the owner's end fails it first (instead of the dead
  /// letter or the failed request); either runs once, on the thread that decided.
  admission_outcome push(envelope_type& env, caf::abstract_actor* owner, caf::local_actor* self,
                         std::chrono::steady_clock::time_point deadline,
                         std::function<void()> on_enqueued = {}, parked_failure on_failed = {}) {
    const bool from_actor = self != nullptr;
    caf::execution_unit* ctx = from_actor ? self->context() : nullptr;
    if (backpressured()) {
      auto outcome = this->admit(
          env, from_actor ? admission_sender::actor : admission_sender::thread, deadline,
          [&] { return entered_callback(owner, std::move(on_enqueued)); }, std::move(on_failed));
      if (outcome == admission_outcome::accepted)
        after_push(owner, ctx);
      return outcome;
    }
    // Closed for senders first: once closed, a send keeps failing with `closed` (the message
    // handed back), also after the owner stopped.
    if (auto why = this->check_open(); why != admission_outcome::accepted)
      return why;
    if (unbounded()) {
      const auto sender = lane_key(self);
      unbounded_queue_for_push(sender).push(std::move(env), sender);
      after_claimed_push(owner, ctx);
      return admission_outcome::accepted;
    }
    std::optional<envelope_type> evicted;
    if (!evicting()->push_evicting(env, evicted)) {
      // Every slot is held by a permit: nothing older to evict, so the arriving one goes.
      this->count_dropped(false);
      return admission_outcome::dropped;
    }
    if (evicted) {
      this->count_dropped(true);
      if (evicted->reply)
        fail_reply(evicted->reply, make_error(mailbox_errc::mailbox_full));
    }
    return accepted(owner, ctx);
  }

  // -- reservations (any thread) ---------------------------------------------------------------

  /// Holds one slot for a permit: accepted (held; nothing is held for an unbounded mailbox),
  /// full, closed or receiver_dead, or, when `wait` and the policy is backpressure, blocks the
  /// calling thread for room until `deadline` (then timeout).
  admission_outcome reserve(bool wait, std::chrono::steady_clock::time_point deadline) {
    if (auto why = stopped(); why != admission_outcome::accepted)
      return why;
    if (unbounded() || try_reserve_slot())
      return admission_outcome::accepted;
    if (!wait || overflow_ != overflow_policy::backpressure)
      return admission_outcome::full;
    return this->wait_for_room([this] { return try_reserve_slot(); }, deadline);
  }

  /// Gives back a slot held by reserve() and wakes a waiting sender. Any thread.
  void release_reservation() {
    if (unbounded())
      return;
    if (evicts()) {
      evicting()->release_reservation();
      return;
    }
    bounded()->release_reservation();
    this->room_freed();
  }

  /// Enqueues `env` into the slot held by reserve(), without a capacity check: accepted, or
  /// parked when a racing push took the slot (see the top of this file). On a mailbox closed
  /// for senders (closed) or whose owner terminated or is gone (`owner` null; receiver_dead)
  /// the slot is given back and the message becomes a dead letter (a request fails).
  admission_outcome push_reserved(envelope_type& env, caf::abstract_actor* owner,
                                  caf::execution_unit* ctx) {
    if (owner == nullptr || closed_for_senders() || closed()) {
      auto outcome =
          closed_for_senders() ? admission_outcome::closed : admission_outcome::receiver_dead;
      release_reservation();
      answer(std::move(env),
             make_error(outcome == admission_outcome::closed ? mailbox_errc::closed
                                                             : mailbox_errc::receiver_dead));
      return outcome;
    }
    if (unbounded()) {
      const auto sender = lane_key(nullptr);
      unbounded_queue_for_push(sender).push(std::move(env), sender);
      after_claimed_push(owner, ctx);
      return admission_outcome::accepted;
    }
    if (evicts()) {
      evicting()->push_reserved(std::move(env));
      return accepted(owner, ctx);
    }
    if (bounded()->try_push_reserved(env)) {
      // The message counted twice until the reservation went: a sender that looked then may
      // be waiting for the room that is free now.
      this->room_freed();
      return accepted(owner, ctx);
    }
    // Parked first, then the slot given back: a later send cannot take it from the message.
    auto outcome = this->park_item(env, entered_callback(owner, {}), {});
    release_reservation();
    return outcome;
  }

  // -- consumer (the owning actor) -------------------------------------------------------------

  /// Hands up to `max` envelopes to `f` while `go()` holds; returns how many. Consumer only.
  template <class Go, class F>
  std::size_t drain_while(Go&& go, F&& f, std::size_t max) {
    // An unbounded mailbox's queue, once made, stays for the core's life: loaded once.
    auto* lanes = unbounded() ? this->laned(std::memory_order_acquire) : nullptr;
    if (unbounded() && lanes == nullptr)
      return 0; // nothing was ever pushed
    // The bounded ring, whose senders may wait for the room this frees.
    const bool admitting = backpressured();
    std::size_t n = 0;
    while (n < max && go()) {
      // Sampled before every pop, not once per batch: messages that queued while a handler
      // ran are a peak the next sample sees. Only the consumer writes high_water_.
      if (auto depth = lanes != nullptr ? lanes->size() : size();
          depth > high_water_.load(std::memory_order_relaxed))
        high_water_.store(depth, std::memory_order_relaxed);
      std::optional<envelope_type> env;
      if (lanes != nullptr)
        env = lanes->try_pop();
      else if (admitting)
        env = bounded()->try_pop();
      else
        env = evicting()->try_pop();
      if (!env)
        break;
      ++n;
      // A waiting sender gets the slot now, not after the batch (whose handlers may take
      // long). The plain loads only make this prompt; the fenced room_freed() after the batch
      // keeps the backpressure handshake correct on its own.
      if (admitting && this->room_wanted())
        this->room_freed();
      // Counted before the handler runs, so that a reply implies its request is counted. Only
      // the consumer writes the counter: a plain store, no read-modify-write.
      processed_.store(processed_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
      f(std::move(*env));
    }
    if (n > 0 && admitting)
      this->room_freed();
    return n;
  }

  /// Closes the mailbox for senders (see the top of this file); idempotent. Any thread.
  void close_for_senders(caf::abstract_actor* owner) {
    if (sender_closed_.exchange(true, std::memory_order_acq_rel))
      return;
    store_load_barrier(sync_);
    this->fail_parked_with([] { return make_error(mailbox_errc::closed); });
    this->notify_waiting_threads();
    if (owner != nullptr)
      static_cast<troupe::actor*>(owner)->wake(nullptr);
  }

  /// Stops the owner from taking messages after the one it handles now. Any thread.
  void pause() noexcept { paused_.store(true, std::memory_order_seq_cst); }

  /// Lets the owner take messages again and wakes it. Any thread.
  void resume(caf::abstract_actor* owner) {
    paused_.store(false, std::memory_order_relaxed);
    store_load_barrier(sync_);
    if (owner != nullptr)
      static_cast<troupe::actor*>(owner)->wake(nullptr);
  }

  /// The owner terminated. Answers or dead-letters everything still queued.
  void owner_terminated() {
    // Release: a producer that sees the flag purges the queue itself, perhaps before this
    // thread takes the purge lock; it becomes the consumer and must see every pop the owner
    // made, which the lock alone orders only when this thread gets it first.
    closed_.store(true, std::memory_order_release);
    store_load_barrier(sync_);
    purge();
    this->notify_waiting_threads();
  }

  // -- observers -------------------------------------------------------------------------------

  [[nodiscard]] std::size_t size() const noexcept {
    if (unbounded()) {
      // Seq_cst, as the install: the owner going idle reads this after its fence (Closing at
      // the top of this file).
      auto* queue = laned(std::memory_order_seq_cst);
      return queue != nullptr ? queue->size() : 0;
    }
    if (evicts())
      return evicting()->size();
    return bounded()->size();
  }

  [[nodiscard]] bool empty() const noexcept { return size() == 0; }

  /// Whether an unbounded mailbox has its queue yet (made by the first push). Any thread.
  [[nodiscard]] bool has_unbounded_queue() const noexcept {
    return unbounded() && laned(std::memory_order_acquire) != nullptr;
  }

  /// The anchor of every handshake of this mailbox (see troupe::actor::resume).
  std::atomic<uint64_t>& anchor() noexcept { return sync_; }

  /// The mailbox's figures (metrics()) for the topology.
  [[nodiscard]] nlohmann::json figures() const { return nlohmann::json(metrics()); }

  [[nodiscard]] mailbox_metrics metrics() const noexcept {
    auto m = metrics_base();
    m.depth = size();
    m.high_water = std::max(m.high_water, m.depth);
    // Every accepted envelope was handled, evicted, purged at close, or is still queued.
    m.enqueued += this->evicted() + m.depth;
    m.dropped = this->dropped();
    m.rejected = this->rejected();
    m.parked = this->parked_count();
    m.reserved = unbounded() ? 0 : evicts() ? evicting()->reserved() : bounded()->reserved();
    return m;
  }

private:
  // -- the queue, as bounded_admission sees it -------------------------------------------------

  bool try_place(envelope_type& env) { return bounded()->try_push(env); }

  // The drop_oldest ring evicts by itself (push()); the engine never asks for it here.
  std::optional<envelope_type> evict_oldest() { return std::nullopt; }

  void refuse(envelope_type&& env, const caf::error& reason) { answer(std::move(env), reason); }

  [[nodiscard]] admission_outcome stopped() const noexcept {
    if (closed_for_senders())
      return admission_outcome::closed;
    return closed() ? admission_outcome::receiver_dead : admission_outcome::accepted;
  }

  [[nodiscard]] std::optional<caf::error> parking_refused() const {
    if (closed_for_senders())
      return make_error(mailbox_errc::closed);
    if (closed())
      return make_error(mailbox_errc::receiver_dead);
    return std::nullopt;
  }

  // A parked envelope that entered the queue wakes its owner (held until then), then tells its
  // sender.
  typename admission::entered_callback entered_callback(caf::abstract_actor* owner,
                                                        std::function<void()> on_enqueued) {
    return [this, keep = caf::actor_cast<caf::strong_actor_ptr>(owner),
            on_enqueued = std::move(on_enqueued)](caf::execution_unit* ctx) {
      after_push(caf::actor_cast<caf::abstract_actor*>(keep), ctx);
      if (on_enqueued)
        on_enqueued();
    };
  }

  // No counter here: `enqueued` is derived in metrics(), which keeps a read-modify-write on a
  // line every producer shares off the per-message path.
  admission_outcome accepted(caf::abstract_actor* owner, caf::execution_unit* ctx) {
    after_push(owner, ctx);
    return admission_outcome::accepted;
  }

  // Parked messages go first, as for a send: a reservation does not overtake them.
  bool try_reserve_slot() {
    if (evicts())
      return evicting()->try_reserve();
    return this->parked_count() == 0 && bounded()->try_reserve();
  }

  void purge_after_close() override { purge(); }

  void purge() {
    std::lock_guard guard{purge_mtx_};
    auto answer_queued = [&](envelope_type&& env) {
      purged_.fetch_add(1, std::memory_order_relaxed);
      answer(std::move(env));
    };
    auto all = std::numeric_limits<std::size_t>::max();
    // Seq_cst, as the install: a push whose claim came before the closing fence is seen here
    // (see Closing at the top of this file), and so is the queue it went to.
    if (unbounded()) {
      if (auto* queue = laned(std::memory_order_seq_cst))
        queue->drain_claimed(answer_queued);
    } else if (evicts()) {
      evicting()->drain(answer_queued, all);
    } else {
      bounded()->drain(answer_queued, all);
    }
    this->fail_parked_with([] { return make_error(mailbox_errc::receiver_dead); });
  }

  /// Answers a request with `reason`, or counts a message as a dead letter.
  void answer(envelope_type&& env,
              const caf::error& reason = make_error(mailbox_errc::receiver_dead)) {
    if (env.reply) {
      fail_reply(env.reply, reason);
      return;
    }
    env.visit([&](auto& m) { count_dead_letter(typeid(m).name(), reason); });
  }

  using unbounded_queue = laned_mpsc_queue<envelope_type>;
  using bounded_queue = bounded_mpsc_queue<envelope_type>;
  using evicting_queue = locked_ring<envelope_type>;

  // The lane of a send (laned_mpsc_queue): the sending actor's id, so that its messages keep
  // one lane on whichever worker it runs; for a send without a `self`, the actor the thread
  // runs now (the same lane as its sends with a `self`). Threads outside actors share one lane
  // (key 0, no actor's id): their messages keep the order of one queue among themselves,
  // across threads too, as a Tokio channel's do.
  static std::uint64_t lane_key(caf::local_actor* self) noexcept {
    if (self != nullptr)
      return self->id();
    if (auto* running = actor::running())
      return running->id();
    if (auto* job = running_job();
        job != nullptr && job->subtype() == caf::resumable::scheduled_actor)
      return static_cast<caf::scheduled_actor*>(job)->id();
    return threads_lane_key;
  }
  static constexpr std::uint64_t threads_lane_key = 0;

  // Which queue the mailbox has: an unbounded one (capacity 0), the evicting ring (drop_oldest)
  // or the bounded ring, which admits through bounded_admission (the other policies).
  [[nodiscard]] bool unbounded() const noexcept { return capacity_ == 0; }
  [[nodiscard]] bool evicts() const noexcept {
    return !unbounded() && overflow_ == overflow_policy::drop_oldest;
  }
  [[nodiscard]] bool backpressured() const noexcept { return !unbounded() && !evicts(); }

  // The queue, as its kind. A bounded mailbox's was stored by the constructor, before any other
  // thread saw the core: relaxed loads.
  [[nodiscard]] unbounded_queue* laned(std::memory_order order) const noexcept {
    return static_cast<unbounded_queue*>(queue_.load(order));
  }
  [[nodiscard]] bounded_queue* bounded() const noexcept {
    return static_cast<bounded_queue*>(queue_.load(std::memory_order_relaxed));
  }
  [[nodiscard]] evicting_queue* evicting() const noexcept {
    return static_cast<evicting_queue*>(queue_.load(std::memory_order_relaxed));
  }

  // The queue of an unbounded mailbox, made now if this is the first push. The load and the
  // CAS pair with the CAS that installed it: its constructor has run. All are seq_cst so that
  // the install precedes every push's claim in the single total order the closing and idle
  // handshakes rely on (Closing at the top of this file); a seq_cst load costs what an acquire
  // load does on x86 and ARMv8. A queue made here starts with the lane of `sender`.
  unbounded_queue& unbounded_queue_for_push(std::uint64_t sender) {
    if (auto* queue = laned(std::memory_order_seq_cst))
      return *queue;
    auto* fresh = new unbounded_queue{sender};
    void* installed = nullptr;
    if (queue_.compare_exchange_strong(installed, fresh, std::memory_order_seq_cst))
      return *fresh;
    delete fresh; // another first push won; nobody saw this one
    return *static_cast<unbounded_queue*>(installed);
  }

  // The queue, of the kind the options say (unbounded(), evicts(), else bounded): one pointer
  // for the three kinds, read through laned(), bounded() and evicting(). Owned: deleted by the
  // destructor. An unbounded mailbox's is null until its first push.
  std::atomic<void*> queue_{nullptr};
};

} // namespace troupe::detail
