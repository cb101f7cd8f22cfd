#pragma once

// # The Troupe actor
//
// A Troupe actor is the unit of execution every Troupe abstraction runs on:
// typed mailboxes, topic subscribers, watched-value readers, barrier parties,
// pool workers, supervised children and the network layer's proxies. Like a
// Tokio task it is a small piece of state plus code that the scheduler runs on
// one of its workers, never on two at once, and that gives its worker back when
// it has nothing to do; unlike a task it owns a queue of messages and answers
// requests.
//
// A troupe::actor is a CAF actor of this process (a caf::local_actor: its id,
// links, monitors, exit reason, clock) that CAF's scheduler runs as a
// caf::resumable, and that sends and makes CAF requests as an event-based actor
// does. It is not a caf::scheduled_actor: that class's mailbox, behavior stack,
// response tables, stream managers and default handlers were 800 bytes of every
// actor, and a Troupe actor needs little of them. CAF messages sent to it (exit
// and down messages, responses to its CAF requests, timer messages, a plain CAF
// send) go to a small inbox of its own, one pointer (CAF's lifo_inbox), and are
// handled much as an event-based actor with CAF's default handlers would: an exit
// message with a reason other than normal ends the actor with that reason, an
// error message ends it with that error, a response runs the handler its request
// registered, a request it does not understand is answered with
// caf::sec::unexpected_message; what no handler can take (a down message, a plain
// CAF message) is reported as a dead letter. What Troupe adds is where its work
// comes from:
//
//  - its own queue (a typed mailbox's lock-free queue; a derived class says how
//  to drain it),
//  - its reply queue: answers to the requests it made, matched to their
//  continuations by id,
//  - message sources: other streams it drains, such as topic subscriptions
//  (message_source).
//
// Why not a CAF message per Troupe message: CAF allocates a mailbox element and
// matches a type-erased message for each, and its mailbox has no bound. A
// Troupe mailbox is a typed lock-free queue; CAF only schedules the actor. The
// actor's CAF inbox state (blocked while the actor is idle) is the single "is
// it scheduled?" flag for every kind of message, so an actor never runs on two
// threads at once and links, monitors, exits and timers keep working.
//
// ## Resume protocol
//
//  1. A producer pushes into the Troupe queue, then issues a seq_cst fence.
//  2. It looks at the CAF inbox: only when it is blocked (the actor is idle)
//  does the producer
//     try to unblock it (CAS); the one producer whose CAS succeeds schedules
//     the actor, exactly as CAF's own enqueue does for a message arriving at an
//     idle actor. Producers that find the actor running do nothing more: no
//     allocation, no message.
//  3. resume() drains up to max_throughput queued messages, then handles the
//     CAF messages in its inbox (exits, timers, responses), then blocks the
//     inbox unless a CAF message came meanwhile.
//  4. After it blocked the inbox, resume() fences and looks at the Troupe
//  queue again. A
//     producer whose push it did not see must, by the two fences, see the
//     blocked inbox in step 2 and schedule; or resume() sees the push, unblocks
//     the inbox itself and asks to be resumed later. Either way exactly one
//     party schedules the actor, and no wake-up is lost.
//
// The same protocol covers the reply queue (post_reply) and, with a lock in
// place of the fences, message sources (see message_source).
//
// ## Reply plumbing
//
// A request made by a Troupe actor registers a continuation (add_request
// returns its id) and travels with a reply sink
// (troupe/core/actor_reply_sink.hpp). Whoever answers, on whatever thread,
// posts a reply_job to the requester's reply queue; the requester runs the
// continuation on its own thread, looked up by id in O(1). A request without
// timeout skips the table: its sink is the reply (inline_reply). A timed
// request records its deadline (fail_request_after); the actor keeps one CAF
// ordinary timeout armed for the earliest deadline, so answered requests cost
// the clock nothing and a terminated actor leaves no timer behind. Its CAF
// requests (self->request(caf_actor, timeout, ...)) keep their deadlines there
// too. When it
// fires, the requests still waiting fail; a reply that comes after its request
// timed out (or failed, or was abandoned) is a dead letter (reason
// caf::sec::unexpected_response).
//
// ## Cancellation and lifetime
//
// An actor ends when a handler calls quit(), when an exit message with a reason
// other than normal reaches it (a link, a supervisor's shutdown, a kill), when
// an error message reaches it, or when it throws. No handler runs after stopping_ is
// set. on_exit() forgets the outstanding requests (their continuations never
// run) and detaches every message source. The object itself lives as long as
// CAF's reference count says: reply sinks and message sources hold a strong
// reference (caf::strong_actor_ptr), so posting a reply to a terminated actor
// is safe. Such a reply reaches no handler: it is reported to the runtime's
// dead-letter office (receiver: the requester's name; type: the reply's type,
// or caf::error for a failure answer), like a message left in a dead mailbox.
// The reply queue closes in on_exit as a mailbox does: on_exit sets
// replies_closed_, fences and empties the queue; post_reply pushes and, if it
// then sees the flag, empties the queue itself (under the same mutex). The
// push's slot claim is a seq_cst read-modify-write and the flag's load is
// seq_cst, so with on_exit's fence one side sees the other: on_exit sees the
// claim (and waits for the reply being written, drain_claimed) or the poster
// sees the flag. No late reply stays in the queue uncounted (nor keeps its
// requester alive through its strong reference).
//
// ## Threading contract
//
//  - Any thread: wake(), post_reply(), ctrl()/id() and everything CAF allows on
//  an actor.
//  - The actor only (inside its handlers, continuations and source drains):
//  add_request(),
//    fail_request(), add_source(), outstanding_requests(), quit().
//  - Happens-before: everything a producer did before a push, post_reply() or
//  source wake is
//    visible to the handler that receives it. Two messages of one producer are
//    handled in the order it pushed them.
//
// ## Example
//
// Users do not derive from troupe::actor directly; they get one as the `self`
// of a typed mailbox's handlers (spawn_mailbox) and use it to make requests and
// subscribe:
//
//   auto counter = troupe::spawn_mailbox<get_count>(rt, {}, [](auto*) {
//     return troupe::handlers{[](get_count&) -> int64_t { return 42; }};
//   }).value();
//   auto client = troupe::spawn_mailbox<start>(rt, {}, [counter](auto* self) {
//     // self is a mailbox_self<start>*, a troupe::actor*
//     return troupe::handlers{[self, counter](start&) {
//       troupe::request(self, counter, get_count{}, 1s).then([](int64_t n) {
//       ... });
//     }};
//   }).value();

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_traits.hpp>
#include <caf/atom.hpp>
#include <caf/behavior.hpp>
#include <caf/error.hpp>
#include <caf/execution_unit.hpp>
#include <caf/intrusive/lifo_inbox.hpp>
#include <caf/local_actor.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/message_id.hpp>
#include <caf/none.hpp>
#include <caf/resumable.hpp>
#include <caf/scheduler/abstract_coordinator.hpp>

#include "troupe/core/continuation.hpp"
#include "troupe/core/detail/caf_actor_base.hpp"
#include "troupe/core/detail/caf_response_table.hpp"
#include "troupe/core/detail/request_deadlines.hpp"
#include "troupe/core/detail/request_table.hpp"
#include "troupe/core/message_source.hpp"
#include "troupe/core/unbounded_mpsc_queue.hpp"
#include "troupe/runtime/exit_listener.hpp"
#include "troupe/scheduler/running_job.hpp"
#include "troupe/scheduler/spin_lock.hpp"
#include "troupe/scheduler/store_load_barrier.hpp"

namespace troupe {

/// The type of the one CAF ordinary timeout a Troupe actor arms for its request deadlines
/// (fail_request_after). A message (request_timeout_atom, request id, error) sent to the actor
/// fails that request at once.
using request_timeout_atom = caf::atom_constant<caf::atom("tr_rqtout")>;

/// The Troupe actor: see the top of this header. Derived classes (typed
/// mailboxes, pool workers) implement drain_queue(), queue_empty() and
/// queue_anchor(), and return initialize_actor() from make_behavior().
class actor : public detail::caf_actor_base,
              public caf::resumable,
              public caf::dynamically_typed_actor_base,
              public caf::non_blocking_actor_base {
public:
  /// For CAF's spawn: a Troupe actor's CAF handle is a dynamically typed caf::actor.
  using signatures = caf::none_t;
  /// For CAF's spawn: the behaviors are CAF's dynamically typed ones.
  using behavior_type = caf::behavior;

  /// Called by CAF's spawn, through the derived class.
  explicit actor(caf::actor_config& cfg) : detail::caf_actor_base(cfg) {}
  actor(const actor&) = delete;
  actor& operator=(const actor&) = delete;
  ~actor() override { delete replies_.load(std::memory_order_acquire); }

  // -- other sources of messages (actor only)
  // ------------------------------------------------

  /// Adds a stream the actor drains on each run, next to its own queue (a topic subscription,
  /// say). The source stays until it reports finished() or the actor exits. Actor only.
  void add_source(std::shared_ptr<message_source> src) {
    auto current = sources_.load();
    auto next = std::make_shared<source_list>(current ? *current : source_list{});
    next->push_back(std::move(src));
    sources_.store(std::move(next));
    has_sources_.store(true, std::memory_order_release);
  }

  // -- replies to this actor's own requests (any thread may post)
  // ----------------------------

  /// Queues a reply and wakes the actor; any thread.
  void post_reply(std::unique_ptr<reply_job> reply) {
    replies().push(std::move(reply));
    // The push's slot claim is a seq_cst read-modify-write and the reads below (the flag, the
    // inbox in wake()) are seq_cst loads: that is the barrier (see "Cancellation and
    // lifetime"), without a fence waiting for the reply's own stores.
    store_load_barrier_after_seq_cst_rmw(reply_sync_);
    if (replies_closed_.load(std::memory_order_seq_cst)) {
      // The requester terminated: nobody drains the queue. The replies may hold the last
      // references to this actor, so keep it alive until we return.
      caf::strong_actor_ptr keep_alive{ctrl()};
      discard_replies();
      return;
    }
    wake(current_unit);
  }

  /// Internal: whom the actor tells when it ends (runtime::spawn gives it its tracker before it
  /// starts); called once, at most.
  void report_exit_to(exit_listener* listener) noexcept { exit_listener_ = listener; }

  /// Internal: closes the CAF inbox (a request still in it is answered with
  /// caf::sec::request_receiver_down), then CAF's cleanup (links and monitors are told), then
  /// the exit listener.
  bool cleanup(caf::error&& reason, caf::execution_unit* host) override {
    close_inbox();
    caf_responses_.reset();
    const bool cleaned = detail::caf_actor_base::cleanup(std::move(reason), host);
    // CAF's cleanup keeps the reason in fail_state_ (written on this thread, never again).
    if (auto* listener = std::exchange(exit_listener_, nullptr))
      listener->actor_exited(*this, fail_state_);
    return cleaned;
  }

  /// Whether a reply posted now would still be taken: true until the actor terminates (on_exit
  /// closes the reply queue; a later reply is a dead letter). Says nothing about one request:
  /// whether it timed out is known only on the actor. Any thread; a snapshot.
  [[nodiscard]] bool accepts_replies() const noexcept {
    return !replies_closed_.load(std::memory_order_relaxed);
  }

  /// Registers the continuation of a new request; returns its id. Actor only.
  uint64_t add_request(std::unique_ptr<continuation> k) { return outstanding_.add(std::move(k)); }

  /// Fails an outstanding request now (send failure, timeout). Actor only.
  void fail_request(uint64_t id, caf::error err) {
    auto k = outstanding_.take(id);
    if (!k)
      return;
    trace_scope traced{k->trace};
    k->fail(std::move(err));
  }

  /// Fails request `id` (from add_request) with `reason` once `timeout` has passed on the actor's
  /// clock, unless it was answered or failed before. The actor arms at most one clock timer, for
  /// its earliest deadline: an answered request costs no clock operation, and no timer keeps a
  /// terminated actor (or what its handlers hold) alive. A timeout beyond the clock's range never
  /// fires. Actor only.
  void fail_request_after(uint64_t id, caf::timespan timeout, caf::error reason);

  /// As above, for any std::chrono duration (saturated to caf::timespan). Actor only.
  template <class Rep, class Period>
  void fail_request_after(uint64_t id, std::chrono::duration<Rep, Period> timeout,
                          caf::error reason) {
    using limit = std::chrono::duration<long double, std::nano>;
    if (std::chrono::duration_cast<limit>(timeout) >= limit{caf::timespan::max().count()})
      return; // beyond the clock's range: never
    fail_request_after(id, std::chrono::duration_cast<caf::timespan>(timeout), std::move(reason));
  }

  /// Internal: what CAF's requester calls for the timeout of a CAF request the actor makes
  /// (request id `mid`); hides caf::local_actor's, which schedules a clock entry that stays
  /// until it is due, answered or not. The deadline joins the actor's own (fail_request_after):
  /// the handler of a request still unanswered then runs with caf::sec::request_timeout.
  void request_response_timeout(const caf::duration& timeout, caf::message_id mid);

  /// Requests registered with add_request() that have neither been answered nor failed yet.
  /// Actor only.
  [[nodiscard]] std::size_t outstanding_requests() const noexcept { return outstanding_.size(); }

  // -- ending (actor only)
  // -------------------------------------------------------------------

  /// Terminates the actor with `reason` after the current handler or continuation: nothing
  /// else runs on it afterwards; outstanding requests (Troupe's and CAF's) are forgotten. A
  /// second call changes nothing: the first reason is the exit reason. Actor only.
  void quit(caf::error reason = caf::error{}) {
    if (getf(is_shutting_down_flag))
      return;
    stopping_ = true;
    setf(is_shutting_down_flag);
    fail_state_ = std::move(reason);
    if (caf_responses_)
      caf_responses_->clear();
  }

  // -- what CAF asks of an actor ---------------------------------------------------------------

  /// Internal: a CAF message for this actor (an exit or down message, a response, a timer's
  /// message, a plain CAF send); any thread. Schedules the actor when it is idle, as a push
  /// into a Troupe queue does; a request that reaches a terminated actor is answered with
  /// caf::sec::request_receiver_down.
  void enqueue(caf::mailbox_element_ptr what, caf::execution_unit* host) override;

  /// Internal: CAF's spawn starts the actor (its first run initializes it).
  void launch(caf::execution_unit* host, bool lazy, bool hide) override;

  /// Internal: registers the handler of a CAF request's response (CAF's requester mixin,
  /// self->request(...).then(...)); `response_id` is the request's response id. A timeout in
  /// `handler` arms the request's timer. Actor only.
  void add_multiplexed_response_handler(caf::message_id response_id, caf::behavior handler);

  /// Internal: the scheduler's references to the actor are CAF's references to it.
  void intrusive_ptr_add_ref_impl() override { caf::intrusive_ptr_add_ref(ctrl()); }
  /// Internal: see intrusive_ptr_add_ref_impl().
  void intrusive_ptr_release_impl() override { caf::intrusive_ptr_release(ctrl()); }

  /// The Troupe actor running on this thread, or nullptr (outside actors, or in a plain CAF
  /// actor). Any thread.
  [[nodiscard]] static actor* running() noexcept { return running_actor; }

  /// Step 2: called by a producer after its push and fence. `ctx` is the
  /// producer's execution unit (so the actor runs next on the same worker) or
  /// nullptr outside the scheduler. Returns whether this call scheduled the
  /// actor (false: it runs already, or is gone).
  bool wake(caf::execution_unit* ctx) {
    // The plain load keeps producers that find the actor running off the
    // inbox's cache line.
    if (!inbox_.blocked() || !inbox_.try_unblock())
      return false;
    schedule(ctx);
    return true;
  }

  /// Runs the actor on a worker (CAF's resumable interface): its replies, message sources and
  /// queue, up to `max_throughput` each, then its CAF messages. Called by the scheduler,
  /// never by users.
  resume_result resume(caf::execution_unit* ctx, size_t max_throughput) override {
    context(ctx);
    // For the whole run, make_behavior() and on_exit() too: handlers send with self->context()
    // (it must name the worker running them now), and sends without a `self` take this actor's
    // lane of a mailbox (running()).
    running_here here{this, ctx};
    if (!getf(is_initialized_flag)) {
      start();
      if (stopping_) {
        finalize();
        return resume_result::done;
      }
    } else if (getf(is_cleaned_up_flag)) {
      return resume_result::done;
    }
    if (initialized_ && !stopping_) {
      drain_replies(max_throughput);
      if (auto list = has_sources() ? sources_.load() : nullptr) {
        // A local reference: a handler may replace the list (add a source)
        // while we iterate.
        bool any_finished = false;
        for (std::size_t i = 0; i < list->size() && !stopping_; ++i) {
          (*list)[i]->drain(max_throughput);
          any_finished = any_finished || (*list)[i]->finished();
        }
        if (any_finished)
          drop_finished_sources();
      }
      if (!stopping_)
        drain_queue(max_throughput);
    }
    if (!stopping_)
      if (auto* newest = inbox_.take_head())
        handle_caf_messages(newest);
    if (stopping_) {
      // A handler quit, or an exit message ended the actor.
      finalize();
      return resume_result::done;
    }
    // Blocks the inbox unless a CAF message came in since handle_caf_messages took them. Once
    // it is blocked, a producer may schedule the actor on another worker, which may set
    // stopping_ at any moment: only thread-safe state is read below.
    if (!inbox_.try_block())
      return resume_result::resume_later;
    store_load_barrier(reply_sync_, queue_anchor());
    // initialized_ is only ever set to true, by this thread, so reading it here is safe.
    if (initialized_ &&
        (!queue_empty() || !replies_empty() ||
         (has_sources() && sources_pending(sources_.load()))) &&
        inbox_.try_unblock())
      return resume_result::resume_later;
    return resume_result::awaiting_message;
  }

  /// Internal: the start hook, run by the actor's first resume(). Calls make_behavior().
  void initialize() override {
    detail::caf_actor_base::initialize();
    setf(is_initialized_flag);
    static_cast<void>(make_behavior());
  }

protected:
  /// Runs once, when the actor starts (its first resume): derived classes make their handlers
  /// and return initialize_actor(). A throw ends the actor with caf::sec::runtime_error.
  virtual caf::behavior make_behavior() = 0;

  /// Hands up to `max` queued messages to their handlers. Runs on the actor.
  virtual void drain_queue(size_t max) = 0;
  /// Also called right after the inbox was blocked, when the actor may already
  /// run on another worker: reads only state that is safe to read from any
  /// thread.
  [[nodiscard]] virtual bool queue_empty() const noexcept = 0;
  /// The anchor of the queue's side of the wake handshake (see
  /// store_load_barrier).
  virtual std::atomic<uint64_t>& queue_anchor() noexcept = 0;

  /// Called from make_behavior once the handlers exist: from then on resume() hands the
  /// actor its messages. Returns an empty behavior (the actor has no CAF behavior: its CAF
  /// messages are handled by troupe::actor itself).
  caf::behavior initialize_actor() {
    initialized_ = true;
    return caf::behavior{};
  }

  /// The reason a reply that reached this actor after it terminated is reported with (see
  /// dead_letter). Mailbox actors answer with their own receiver_dead.
  [[nodiscard]] virtual caf::error dead_reply_reason() const;

  /// Forgets outstanding requests, turns queued and later replies into dead letters and
  /// detaches every message source. Derived classes that override it call this one.
  void on_exit() override {
    // Nobody is left to run the continuations; requests still out are simply
    // forgotten. Replies already queued, and any that arrive later, are dead
    // letters (see "Cancellation and lifetime").
    outstanding_.clear(); // their deadlines too: CAF drops the armed timer as the actor ends
    // Release: a poster that sees the flag empties the queue itself, perhaps before this
    // thread takes the lock below; it becomes the consumer and must see every pop this actor
    // made (drain_replies), which the lock alone orders only when this thread gets it first.
    replies_closed_.store(true, std::memory_order_release);
    store_load_barrier(reply_sync_);
    discard_replies();
    if (auto list = sources_.exchange(nullptr))
      for (auto& src : *list)
        src->detach();
    detail::caf_actor_base::on_exit();
  }

private:
  // Copy on write behind an atomic pointer: the post-block check in resume()
  // reads the list while the actor may already run (and add or drop sources) on
  // another worker.
  using source_list = std::vector<std::shared_ptr<message_source>>;

  void drop_finished_sources() {
    auto current = sources_.load();
    auto next = std::make_shared<source_list>();
    for (auto& src : *current)
      if (!src->finished())
        next->push_back(src);
    has_sources_.store(!next->empty(), std::memory_order_release);
    sources_.store(next->empty() ? nullptr : std::move(next));
  }

  // Most actors never have a source: they skip the atomic shared_ptr (a lock in
  // libstdc++) on every resume.
  [[nodiscard]] bool has_sources() const noexcept {
    return has_sources_.load(std::memory_order_acquire);
  }

  static bool sources_pending(const std::shared_ptr<const source_list>& sources) {
    if (!sources)
      return false;
    for (auto& src : *sources)
      if (src->has_pending())
        return true;
    return false;
  }

  void drain_replies(size_t max) {
    for (size_t n = 0; n < max && !stopping_; ++n) {
      auto* queue = replies_.load(std::memory_order_acquire);
      if (queue == nullptr)
        return;
      auto reply = queue->try_pop();
      if (!reply)
        return;
      if ((*reply)->request_id == 0) {
        trace_scope traced{(*reply)->trace};
        (*reply)->run(); // a request without timeout: nothing to look up
        continue;
      }
      auto k = outstanding_.take((*reply)->request_id);
      if (!k) {
        // Timed out, failed or abandoned already: nobody waits for it.
        report_unexpected_reply(**reply);
        continue;
      }
      trace_scope traced{k->trace};
      k->deliver(**reply);
    }
  }

  // The execution unit of the Troupe actor running on this thread, if any: lets
  // a reply sent from inside a handler schedule its requester on the same
  // worker.
  static inline thread_local caf::execution_unit* current_unit = nullptr;
  // The Troupe actor running on this thread (running()).
  static inline thread_local actor* running_actor = nullptr;

  // Makes an actor the one running on this thread (current_unit, running_actor, running_job())
  // for one resume; restores what was there before.
  class running_here {
  public:
    running_here(actor* self, caf::execution_unit* ctx) noexcept
        : unit_(std::exchange(current_unit, ctx)), actor_(std::exchange(running_actor, self)),
          job_(self) {}
    running_here(const running_here&) = delete;
    running_here& operator=(const running_here&) = delete;
    ~running_here() {
      current_unit = unit_;
      running_actor = actor_;
    }

  private:
    caf::execution_unit* unit_;
    actor* actor_;
    // Set by Troupe's workers already; this covers the other scheduler policies.
    running_job_scope job_;
  };

  // Schedules this actor, which the caller found idle and unblocked (step 2): on `host`'s
  // worker when there is one. The scheduler holds a reference until the actor has run.
  void schedule(caf::execution_unit* host) {
    caf::intrusive_ptr_add_ref(ctrl());
    if (host != nullptr)
      host->exec_later(this);
    else
      home_system().scheduler().enqueue(this);
  }

  using reply_queue = unbounded_mpsc_queue<std::unique_ptr<reply_job>>;

  // The reply queue exists once something replies to this actor: most actors never request, and
  // the queue's cache-line-separated ends cost ~190 bytes inline. Any thread may be the first
  // to post, so creation races are settled by one compare-exchange.
  // The load and the install are seq_cst, so that the install precedes every claim in the
  // order on_exit's and resume()'s fences rely on (post_reply).
  reply_queue& replies() {
    if (auto* queue = replies_.load(std::memory_order_seq_cst))
      return *queue;
    auto fresh = std::make_unique<reply_queue>();
    reply_queue* expected = nullptr;
    if (replies_.compare_exchange_strong(expected, fresh.get(), std::memory_order_seq_cst))
      return *fresh.release();
    return *expected;
  }

  // Any thread (the post-block check in resume()).
  [[nodiscard]] bool replies_empty() const noexcept {
    auto* queue = replies_.load(std::memory_order_seq_cst); // after a fence: see replies()
    return queue == nullptr || queue->empty();
  }

  std::atomic<reply_queue*> replies_{nullptr}; // owned: deleted by ~actor

  /// Reports a reply whose request no longer waits (timed out, failed, abandoned) as a dead
  /// letter with caf::sec::unexpected_response. Actor only.
  void report_unexpected_reply(const reply_job& reply);

  /// Empties the reply queue of a terminated actor, reporting every answer in it as a dead
  /// letter. Any thread, serialised by discard_mtx_ (the queue has one consumer at a time).
  void discard_replies();

  std::atomic<uint64_t> reply_sync_{0};
  // Where CAF messages wait (one pointer): CAF's lock-free stack, whose blocked state is the
  // "is it scheduled?" flag of the resume protocol. Next to reply_sync_: a reply's poster
  // touches both, and the actor writes either only when it goes idle.
  struct inbox_policy {
    using mapped_type = caf::mailbox_element;
    using unique_pointer = caf::mailbox_element_ptr;
  };
  caf::intrusive::lifo_inbox<inbox_policy> inbox_;
  detail::request_table outstanding_;
  // Null unless the runtime spawned the actor (report_exit_to). Among the pointers: the flags
  // at the end share one word.
  exit_listener* exit_listener_ = nullptr;

  /// fail_request_after, or for a CAF request (`caf_request`: `id` is its response id).
  void add_deadline(uint64_t id, caf::timespan timeout, caf::error reason, bool caf_request);
  /// Whether the request of a deadline is still waiting for its answer.
  [[nodiscard]] bool awaits(const detail::request_deadlines::entry& deadline) const;
  /// The table of CAF responses, made by the first CAF request.
  detail::caf_response_table& caf_responses();
  /// A CAF request's deadline passed: its handler runs with caf::sec::request_timeout, as
  /// CAF's request timeout message would run it.
  void fail_caf_request(caf::message_id response_id);
  /// Arms the clock timer for the earliest deadline still waiting, unless one armed as early.
  void arm_request_timer();
  /// The timer fired: fails the requests whose deadline passed, then re-arms.
  void on_request_timer();
  /// The first run: initialize(), with a throw turned into an exit (caf::sec::runtime_error).
  void start();
  /// Handles the CAF messages taken from the inbox (`newest` first in its list), oldest first;
  /// after a quit, a request among them is answered with caf::sec::request_receiver_down.
  /// Actor only.
  void handle_caf_messages(caf::mailbox_element* newest);
  /// One CAF message: a response, a timer's, an exit, down or error message, or another one.
  void handle_caf_message(caf::mailbox_element& x);
  /// A response to one of the actor's CAF requests: runs the handler it registered.
  void handle_caf_response(caf::mailbox_element& x);
  /// Closes the inbox; a request still in it is answered with caf::sec::request_receiver_down.
  void close_inbox() noexcept;
  /// After a quit: on_exit(), then cleanup() with the exit reason (once). Actor only.
  void finalize();

  // Made by the first CAF request: most actors never make one.
  std::unique_ptr<detail::caf_response_table> caf_responses_;
  std::atomic<std::shared_ptr<const source_list>> sources_;
  // The flags share the actor's last word.
  std::atomic<bool> has_sources_{false};
  std::atomic<bool> replies_closed_{false};
  // Rarely taken (replies to an actor that ended), so a spin lock: a std::mutex is 40 bytes in
  // every actor.
  spin_lock discard_mtx_;

protected:
  /// Set by initialize_actor(); until then resume() hands the actor no message. Actor only.
  bool initialized_ = false;
  /// Set by quit(); no handler runs afterwards. Actor only.
  bool stopping_ = false;
};

} // namespace troupe
