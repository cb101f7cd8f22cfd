#pragma once

// The shared state of a worker pool: its bounded job queues, its workers' slots and its
// counters. Submitters and workers meet here; the workers are Troupe queue actors
// (troupe::actor) whose "queue" is this one.
//
// Queues: balanced dispatch uses one lock-free bounded ring (its capacity is the pool's), so
// submitters and workers never contend on a lock on the fast path. Round robin and key
// affinity use one deque per worker slot under `mtx_`. Jobs that go back to the front (a
// crashed job's retry, a crashed or retiring worker's unstarted jobs) wait in `front_`, which
// every worker looks at first. Admission (capacity, overflow policy, actors' jobs parked under
// backpressure, threads waiting for room) is troupe::bounded_admission, the engine typed
// mailboxes use too; the pool keeps only dispatch, retries and resizing.
//
// Wake protocol (the queue actor's, with several consumers):
//  1. A submitter queues (or parks) a job, then issues the store-load barrier on `anchor` (for
//     the shared ring, its claim of a cell is that barrier: workers look at the claims).
//  2. Balanced: it wakes the first worker whose slot says it may be idle (`idle_hint`) and whose
//     inbox is blocked. Round robin and key affinity: it wakes the job's worker, if idle.
//  3. A worker that ends a turn sets its slot's idle hint, blocks its inbox, issues the same
//     barrier and looks at its queues (its own, then the shared one) again; it goes on working
//     if it finds a job. It clears the hint when its next turn starts.
//  By the two barriers, either a worker sees the job in step 3, or the submitter sees its
//  idle hint in step 2 and wakes it, so no job waits while a worker idles. A worker that
//  runs is never touched by submitters (no reader count, no look at its inbox).
//  4. The submitter whose wake scheduled the worker clears the hint it saw: until the worker
//     runs (another thread may have to steal it first), later submitters would find the hint
//     set and pay the reader count and a look at its inbox for every job they queue. The hint
//     carries the number of the turn that set it and is cleared only if it is still that
//     turn's, so a hint set by the worker's next turn (which the wake guarantees) stays.
//  A worker whose turn ends with jobs left (its throughput ran out) sets no hint: it runs again
//  without a wake. One that waits for its job's outcome (the blocking pool, a coroutine) sets
//  one only when the outcome came back: until then it takes no job, and a submitter wakes
//  another worker (pool_worker_base::drain_queue).
//
// Lifetime: a worker slot holds a raw pointer to its current worker actor, which submitters
// load and wake without a lock; the slot also owns a strong reference to that worker (under
// `keep_mtx_`). A worker that ends is retired, and its reference dropped once no submitter can
// still be using the pointer. The protocol (a per-slot reader count, as a hazard pointer):
//  1. A reader increments the slot's `readers`, then loads `worker` (both seq_cst), uses the
//     pointer, and decrements `readers`.
//  2. A worker that ends swaps `worker` to null (seq_cst) and moves its reference to `retired_`.
//  3. A retired reference is dropped only when its slot's `readers` reads 0 (seq_cst) after
//     step 2: in the single order of seq_cst operations, a reader whose increment follows
//     that read loads `worker` after the swap, so it never sees the retired pointer; one whose
//     increment precedes it is still counted. A reader of the slot's next worker may delay
//     the drop, never make it early. Retired references are tried again at every attach and
//     detach, so a pool keeps at most a few of them, not one per restart.
// Workers hold the core strongly only while they run (they drop it in on_exit), so the core
// (and the references) go when the pool handle and the supervisor's child template are gone.

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/actor_cast.hpp>
#include <caf/error.hpp>
#include <caf/execution_unit.hpp>
#include <nlohmann/json.hpp>

#include "troupe/core/actor.hpp"
#include "troupe/core/reply_sink.hpp"
#include "troupe/introspection/event_stream.hpp"
#include "troupe/introspection/trace.hpp"
#include "troupe/mailbox/bounded_admission.hpp"
#include "troupe/mailbox/mailbox_errc.hpp"
#include "troupe/scheduler/errors.hpp"
#include "troupe/scheduler/mpmc_ring.hpp"
#include "troupe/scheduler/spin_lock.hpp"
#include "troupe/scheduler/store_load_barrier.hpp"
#include "troupe/supervision/detail/latency_histogram.hpp"
#include "troupe/supervision/pool_metrics.hpp"
#include "troupe/supervision/pool_options.hpp"
#include "troupe/supervision/supervision_event_kinds.hpp"

namespace troupe::detail {

template <class Job>
struct pool_entry {
  Job job;
  std::unique_ptr<reply_sink_base> reply;
  uint32_t attempts = 0;
  /// Submit order, for drop_oldest across several queues.
  uint64_t seq = 0;
  /// When it was queued, for sampled jobs; 0 otherwise.
  int64_t queued_ns = 0;
  /// The dispatch key (key affinity).
  uint64_t key = 0;
  /// The submitter's trace: the handler runs with it (see troupe::trace_id).
  trace_id trace = current_trace();
};

template <class Job>
class pool_core : public bounded_admission<pool_entry<Job>, pool_core<Job>> {
  using admission = bounded_admission<pool_entry<Job>, pool_core<Job>>;
  friend admission;

public:
  using clock = std::chrono::steady_clock;

  using entry = pool_entry<Job>;

  /// `events` (may be null) receives the pool's retries and cancellations.
  explicit pool_core(pool_options opts, std::shared_ptr<event_stream> events = nullptr)
      : admission(opts.overflow), opts_(std::move(opts)), active_(opts_.workers),
        ring_(opts_.capacity), events_(std::move(events)) {}

  ~pool_core() {
    // Every accepted job is answered exactly once: whatever no worker took is cancelled.
    cancel_all();
  }

  pool_core(const pool_core&) = delete;
  pool_core& operator=(const pool_core&) = delete;

  [[nodiscard]] const pool_options& options() const noexcept { return opts_; }

  // -- submitting ------------------------------------------------------------------------------

  /// Queues `e` by the pool's dispatch and overflow policies. Under backpressure, waits for
  /// room until `deadline` when `may_wait` (threads), else reports full. On any outcome other
  /// than accepted and parked, `e` (and its reply) stays with the caller.
  ///
  /// `on_queued` (actors under backpressure): instead of waiting or failing, the job is parked
  /// and queued, in submit order, as soon as there is room; `on_queued` runs then (on the
  /// worker that made room; it should only notify the submitter).
  ///
  /// `probe`: only try; a full queue returns full without counting a rejection or applying
  /// the overflow policy (the caller then submits again, ready to park).
  admission_outcome push(entry& e, uint64_t key, caf::execution_unit* ctx, bool may_wait,
                         clock::time_point deadline, std::function<void()>* on_queued = nullptr,
                         bool probe = false) {
    // The count is also the job's submit order: one locked operation per submit, not two (each
    // waits for the submitter's earlier stores, such as its last job's cell, to leave its core).
    auto submits = accepted_.fetch_add(1, std::memory_order_seq_cst) + 1;
    e.key = key;
    if (e.seq == 0)
      stamp(e, submits);
    admission_outcome outcome;
    if (probe) {
      // A submit to a closed pool is a rejection, probing or not.
      outcome = this->check_open();
      if (outcome == admission_outcome::accepted)
        outcome = this->parked_count() == 0 && try_place(e) ? admission_outcome::accepted
                                                            : admission_outcome::full;
    } else {
      auto who = on_queued != nullptr ? admission_sender::actor
                 : may_wait           ? admission_sender::thread
                                      : admission_sender::no_wait;
      outcome = this->admit(e, who, deadline, [&] { return entered_callback(*on_queued); });
    }
    if (outcome == admission_outcome::accepted) {
      after_push(placed_slot_, ctx);
      return outcome;
    }
    if (outcome != admission_outcome::parked)
      settled_.fetch_add(1, std::memory_order_seq_cst);
    return outcome;
  }

  // -- working (each slot's current worker) -----------------------------------------------------

  /// Takes jobs for `slot` into `out`: a job waiting at the front first; else up to `max` of
  /// its own queue (they are its jobs anyway); else one job of the shared ring — a job taken
  /// but not started would wait behind a slow one while another worker idles.
  std::size_t take(std::size_t slot, std::deque<entry>& out, std::size_t max,
                   caf::execution_unit* ctx = nullptr) {
    std::size_t taken = 0;
    if (front_count_.load(std::memory_order_acquire) > 0 ||
        slots_[slot].queued.load(std::memory_order_acquire) > 0) {
      std::lock_guard guard{mtx_};
      if (!front_.empty()) {
        out.push_back(std::move(front_.front()));
        front_.pop_front();
        front_count_.fetch_sub(1, std::memory_order_release);
        taken = 1;
      } else {
        auto& own = slots_[slot].queue;
        while (taken < max && !own.empty()) {
          out.push_back(std::move(own.front()));
          own.pop_front();
          ++taken;
        }
        if (taken > 0) {
          slots_[slot].queued.fetch_sub(taken, std::memory_order_release);
          own_depth_ -= taken;
        }
      }
    }
    if (taken == 0) {
      std::optional<entry> e;
      if (ring_.try_pop(e)) {
        out.push_back(std::move(*e));
        taken = 1;
      }
    }
    // Room freed: parked jobs move in (their submitters are told) and waiting threads wake.
    // The barrier inside is the consumer's half of the admission handshake, after every take
    // (not once per turn, as a mailbox's single consumer may): a sender that registers as this
    // worker frees room could otherwise wait for the job it runs next while another idles.
    if (taken > 0 || this->parked_count() > 0)
      this->room_freed(ctx);
    return taken;
  }

  /// Whether `slot` has nothing to take. Lock-free: called by the wake protocol.
  [[nodiscard]] bool empty_for(std::size_t slot) const noexcept {
    // Parked jobs are not looked at: they wait for room, and whoever frees room moves them in
    // and wakes the worker whose queue took each one (entered_callback).
    // The ring by its claims (size()), not by its published values (empty()): a submitter's
    // claim is the write its wake handshake orders (after_push), so a job being moved in
    // already counts; the worker then runs again until it can take it.
    return slots_[slot].queued.load(std::memory_order_acquire) == 0 &&
           front_count_.load(std::memory_order_acquire) == 0 && ring_.size() == 0;
  }

  /// Puts jobs back at the front (a crashed job's retry, a crashed or retiring worker's
  /// unstarted jobs), in order: its own queue's front for a slot that keeps its jobs (key
  /// affinity order), else the front every worker looks at first.
  void give_back(std::size_t slot, std::deque<entry>& jobs) {
    if (jobs.empty())
      return;
    {
      std::lock_guard guard{mtx_};
      if (balanced() || retiring(slot)) {
        front_count_.fetch_add(jobs.size(), std::memory_order_release);
        while (!jobs.empty()) {
          front_.push_front(std::move(jobs.back()));
          jobs.pop_back();
        }
      } else {
        auto& own = slots_[slot].queue;
        own_depth_ += jobs.size();
        slots_[slot].queued.fetch_add(jobs.size(), std::memory_order_release);
        while (!jobs.empty()) {
          own.push_front(std::move(jobs.back()));
          jobs.pop_back();
        }
      }
    }
    store_load_barrier(anchor_);
    wake_any(nullptr);
  }

  /// Moves a retiring slot's own queue to the front queue, so no job waits for a worker that
  /// will not come back.
  void hand_over(std::size_t slot) {
    {
      std::lock_guard guard{mtx_};
      auto& own = slots_[slot].queue;
      if (own.empty())
        return;
      front_count_.fetch_add(own.size(), std::memory_order_release);
      own_depth_ -= own.size();
      slots_[slot].queued.store(0, std::memory_order_release);
      for (auto& e : own)
        front_.push_back(std::move(e));
      own.clear();
    }
    store_load_barrier(anchor_);
    wake_any(nullptr);
  }

  /// A job was answered (ok: with its result). Its slot is free again.
  void finished(std::size_t slot, const entry& e, bool ok) {
    auto& s = slots_[slot];
    s.in_flight.store(0, std::memory_order_relaxed);
    if (e.queued_ns != 0)
      latency_.record(slot, static_cast<uint64_t>(now_ns() - e.queued_ns));
    (ok ? s.completed : failed_).fetch_add(1, std::memory_order_relaxed);
    s.settled.fetch_add(1, std::memory_order_seq_cst);
    if (idle_waiters_.load(std::memory_order_relaxed) > 0) {
      std::lock_guard guard{mtx_};
      idle_.notify_all();
    }
  }

  /// A crashed job goes back to the queue: counts it and publishes pool.job_retried.
  /// `attempt` is the attempt that failed (from 1).
  void count_retry(uint32_t attempt, const caf::error& reason) {
    retried_.fetch_add(1, std::memory_order_relaxed);
    if (!observed(event_level::notice))
      return;
    auto rendered = render(reason);
    auto text = "job retried after attempt " + std::to_string(attempt) + " failed: " + rendered;
    publish(event_level::notice, event_kinds::pool_job_retried, std::move(text),
            {{"pool", opts_.name}, {"attempt", attempt}, {"reason", std::move(rendered)}});
  }

  /// Publishes pool.job_failed for a posted job (it has no reply to carry the error).
  void publish_failed(const entry& e, const caf::error& reason) {
    if (!observed(event_level::warning))
      return;
    auto rendered = render(reason);
    auto attempts = e.attempts + 1;
    auto text = "posted job failed after " + std::to_string(attempts) +
                (attempts == 1 ? " attempt: " : " attempts: ") + rendered;
    publish(event_level::warning, event_kinds::pool_job_failed, std::move(text),
            {{"pool", opts_.name}, {"attempts", attempts}, {"reason", std::move(rendered)}});
  }

  /// Publishes pool.job_cancelled for `n` jobs answered with runtime_errc::cancelled. Called
  /// without the pool's locks held.
  void publish_cancelled(std::size_t n, const char* why) {
    if (n == 0 || !observed(event_level::notice))
      return;
    publish(event_level::notice, event_kinds::pool_job_cancelled,
            std::to_string(n) + (n == 1 ? " job" : " jobs") + " cancelled: " + why,
            {{"pool", opts_.name}, {"count", n}, {"reason", why}});
  }

  void started(std::size_t slot) noexcept {
    slots_[slot].in_flight.store(1, std::memory_order_relaxed);
  }

  /// The slot's job went back to the queue unanswered (a retry).
  void released(std::size_t slot) noexcept {
    slots_[slot].in_flight.store(0, std::memory_order_relaxed);
  }

  // -- workers' slots -----------------------------------------------------------------------------

  void attach(std::size_t slot, troupe::actor* worker) {
    {
      std::lock_guard guard{keep_mtx_};
      reclaim_retired();
      slots_[slot].owner = caf::actor_cast<caf::strong_actor_ptr>(worker);
      if (slots_[slot].starts++ > 0)
        restarts_.fetch_add(1, std::memory_order_relaxed);
      ++live_;
    }
    // The previous worker may have crashed while running: the new one starts as may-be-idle,
    // under a turn number no submitter saw yet.
    may_idle(slot);
    slots_[slot].worker.store(worker, std::memory_order_seq_cst);
  }

  /// A worker ended. Returns true when it was stopped with the pool (not crashed or retired),
  /// it was the last one, and the pool is closing: nobody is left to take what is queued.
  /// A crashed worker is restarted, so it is never the last, even when no other worker runs
  /// in the meantime (a pool of one).
  bool detach(std::size_t slot, troupe::actor* worker, bool pool_stopping) {
    troupe::actor* expected = worker;
    slots_[slot].worker.compare_exchange_strong(expected, nullptr, std::memory_order_seq_cst);
    if (pool_stopping)
      close();
    std::lock_guard guard{keep_mtx_};
    // Older retired workers first: the one detaching now runs its on_exit, and dropping its
    // own reference here could destroy it under its own feet.
    reclaim_retired();
    auto& owner = slots_[slot].owner;
    if (owner && owner.get() == worker->ctrl())
      retired_.push_back(retired_worker{slot, std::move(owner)});
    --live_;
    detached_.notify_all();
    return pool_stopping && live_ == 0 && is_closed();
  }

  /// How many ended workers are still referenced (waiting for readers to leave their slot).
  [[nodiscard]] std::size_t retired_count() {
    std::lock_guard guard{keep_mtx_};
    return retired_.size();
  }

  /// Waits until the slots [from, to) have no worker, or the deadline passed.
  bool await_detached(std::size_t from, std::size_t to, clock::time_point deadline) {
    std::unique_lock guard{keep_mtx_};
    return detached_.wait_until(guard, deadline, [&] {
      for (auto i = from; i < to; ++i)
        if (slots_[i].worker.load(std::memory_order_acquire) != nullptr)
          return false;
      return true;
    });
  }

  [[nodiscard]] bool retiring(std::size_t slot) const noexcept { return slot >= active(); }
  [[nodiscard]] std::size_t active() const noexcept {
    return active_.load(std::memory_order_acquire);
  }

  /// Changes the number of slots that get jobs; slots beyond it retire.
  void set_active(std::size_t n) {
    active_.store(n, std::memory_order_release);
    // Retiring workers are woken so they notice between two jobs. The barrier pairs with an
    // idling worker's (it looks at retiring() after its own): it sees the change, or this sees
    // its idle hint.
    store_load_barrier(anchor_);
    for (std::size_t i = n; i < slots_.size(); ++i)
      wake_slot(i, nullptr);
  }

  // -- closing --------------------------------------------------------------------------------

  /// New submits are refused from now on (runtime_errc::shutting_down).
  void close() {
    closed_flag_.store(true, std::memory_order_seq_cst);
    store_load_barrier(anchor_);
    // Threads waiting for room give up (closed); parked jobs stay accepted: the workers drain
    // them, or cancel_all() answers them.
    this->notify_waiting_threads();
  }

  [[nodiscard]] bool is_closed() const noexcept {
    return closed_flag_.load(std::memory_order_acquire);
  }

  /// Waits until every accepted job was answered, or the deadline passed; returns whether the
  /// pool is idle. (Not "nothing queued and nothing running": a job between the queue and its
  /// start — in a worker's batch, being unparked, given back by a crashed worker — is neither.)
  bool await_idle(clock::time_point deadline) {
    std::unique_lock guard{mtx_};
    idle_waiters_.fetch_add(1, std::memory_order_relaxed);
    bool idle = false;
    // Re-checks now and then as well: workers notify without the lock on their fast path.
    while (!(idle = no_job_outstanding()) && clock::now() < deadline)
      idle_.wait_until(guard, std::min(deadline, clock::now() + std::chrono::milliseconds{1}));
    idle_waiters_.fetch_sub(1, std::memory_order_relaxed);
    return idle;
  }

  /// Answers every queued or parked job with runtime_errc::cancelled; returns how many.
  std::size_t cancel_all() {
    std::deque<entry> left;
    closed_flag_.store(true, std::memory_order_seq_cst);
    cancelling_.store(true, std::memory_order_seq_cst);
    store_load_barrier(anchor_);
    {
      std::lock_guard guard{mtx_};
      for (auto& s : slots_) {
        for (auto& e : s.queue)
          left.push_back(std::move(e));
        s.queue.clear();
        s.queued.store(0, std::memory_order_release);
      }
      own_depth_ = 0;
      for (auto& e : front_)
        left.push_back(std::move(e));
      front_.clear();
      front_count_.store(0, std::memory_order_release);
      std::optional<entry> e;
      while (ring_.try_pop(e))
        left.push_back(std::move(*e));
    }
    this->notify_waiting_threads();
    auto reason = make_error(runtime_errc::cancelled, std::string{"the pool stopped"});
    for (auto& e : left)
      refuse(std::move(e), reason);
    auto n = left.size() + this->fail_parked(reason);
    cancelled_.fetch_add(n, std::memory_order_relaxed);
    publish_cancelled(n, "the pool stopped");
    return n;
  }

  // -- metrics --------------------------------------------------------------------------------

  [[nodiscard]] pool_metrics metrics() const {
    pool_metrics m;
    m.name = opts_.name;
    m.capacity = opts_.capacity;
    m.workers = active();
    {
      std::lock_guard guard{mtx_};
      m.queue_depth = depth();
    }
    m.parked = this->parked_count();
    for (std::size_t i = 0; i < m.workers; ++i)
      m.in_flight.push_back(slots_[i].in_flight.load(std::memory_order_relaxed));
    for (auto& s : slots_)
      m.completed += s.completed.load(std::memory_order_relaxed);
    m.failed = failed_.load(std::memory_order_relaxed);
    m.retried = retried_.load(std::memory_order_relaxed);
    m.restarts = restarts_.load(std::memory_order_relaxed);
    m.rejected = this->rejected();
    m.dropped = this->dropped();
    m.cancelled = cancelled_.load(std::memory_order_relaxed);
    m.latency_p50_us = static_cast<double>(latency_.percentile(0.50)) / 1000.0;
    m.latency_p99_us = static_cast<double>(latency_.percentile(0.99)) / 1000.0;
    return m;
  }

  [[nodiscard]] std::atomic<uint64_t>& anchor() noexcept { return anchor_; }

  /// Wake protocol: `slot`'s worker may go idle after this call (it found nothing, or the job
  /// it waited for came back). Before its barrier and last look at the queues, so that a
  /// submitter either sees the hint (and tries to wake it) or the worker sees the job.
  void may_idle(std::size_t slot) noexcept {
    auto& hint = slots_[slot].idle_hint;
    // A load and a store suffice: only the slot's worker moves the turn number on (here and in
    // attach(), on itself), and a submitter's exchange between the two can only clear the
    // older hint, which the store replaces.
    hint.store(next_idle_hint(hint.load(std::memory_order_relaxed)), std::memory_order_relaxed);
  }

  /// `slot`'s worker runs: submitters need not try to wake it.
  void running(std::size_t slot) noexcept {
    auto& hint = slots_[slot].idle_hint;
    auto seen = hint.load(std::memory_order_relaxed);
    if ((seen & may_be_idle) != 0)
      hint.store(seen & ~may_be_idle, std::memory_order_relaxed);
  }

private:
  // Cache lines apart: what submitters write (readers, queued), what the worker writes per
  // job (in_flight) and what it writes when it goes idle or runs again (idle_hint).
  struct alignas(64) slot_state {
    std::atomic<troupe::actor*> worker{nullptr};
    std::atomic<uint32_t> readers{0};   // submitters using `worker` now (lifetime protocol)
    caf::strong_actor_ptr owner;        // keeps `worker` alive; guarded by keep_mtx_
    uint64_t starts = 0;                // guarded by keep_mtx_
    std::deque<entry> queue;            // guarded by mtx_
    std::atomic<std::size_t> queued{0}; // queue.size(), readable without the lock
    // Whether the worker may be idle (wake protocol): the may_be_idle bit, and above it the
    // number of the worker's turn that set it (step 4). Set until it first runs: a stale hint
    // only costs a wake attempt, a missing one would lose a wake-up.
    alignas(64) std::atomic<uint64_t> idle_hint{may_be_idle};
    alignas(64) std::atomic<uint32_t> in_flight{0};
    // The jobs the slot's workers answered, and those plus the failed ones: counted per slot,
    // on the line only its worker writes, as two workers counting on one shared line moved it
    // between them for every job (a tenth of a posted job's cost). metrics() and
    // no_job_outstanding() add them up.
    std::atomic<uint64_t> completed{0};
    std::atomic<uint64_t> settled{0};
  };

  // Idle when every accepted job was settled: the settled counts are read first, so that a job
  // accepted and settled between the reads cannot hide one still outstanding (each count only
  // grows, and a job is accepted before any worker can settle it).
  [[nodiscard]] bool no_job_outstanding() const noexcept {
    auto settled = settled_.load(std::memory_order_seq_cst);
    for (auto& s : slots_)
      settled += s.settled.load(std::memory_order_seq_cst);
    return accepted_.load(std::memory_order_seq_cst) == settled;
  }

  // Whether anyone takes events of `level`: checked before an event's text is built, so that
  // an unobserved event costs one load.
  [[nodiscard]] bool observed(event_level level) const { return events_ && events_->wants(level); }

  // Publishes the pool's event `kind` (call only when observed(level)).
  void publish(event_level level, std::string_view kind, std::string text, nlohmann::json fields) {
    event e;
    e.level = level;
    e.kind = kind;
    e.name = opts_.name;
    e.text = std::move(text);
    e.fields = std::move(fields);
    events_->publish(std::move(e));
  }

  static int64_t now_ns() noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now().time_since_epoch())
        .count();
  }

  [[nodiscard]] bool balanced() const noexcept {
    return opts_.dispatch == dispatch_policy::balanced;
  }

  // `order`: the job's place among the pool's submits (a job submitted again keeps its first).
  static void stamp(entry& e, uint64_t order) noexcept {
    e.seq = order;
    if ((e.seq & 15) == 0)
      e.queued_ns = now_ns();
  }

  // Jobs waiting (not parked). Requires mtx_ for an exact figure.
  [[nodiscard]] std::size_t depth() const noexcept {
    return ring_.size() + own_depth_ + front_count_.load(std::memory_order_acquire);
  }

  void after_push(const std::optional<std::size_t>& slot, caf::execution_unit* ctx) {
    if (slot) {
      store_load_barrier(anchor_);
      wake_slot(*slot, ctx);
      return;
    }
    // The shared ring took the job: its claim was a seq_cst read-modify-write, and workers
    // look at the ring's claims (empty_for), so no fence is needed (a full fence was a tenth
    // of a submitter's time).
    store_load_barrier_after_seq_cst_rmw(anchor_);
    wake_any(ctx);
  }

  // -- the queues, as bounded_admission sees them ------------------------------------------------

  // Queues `e` if there is room; placed_slot_ says whose queue took it (none: the shared ring).
  bool try_place(entry& e) {
    placed_slot_.reset();
    if (balanced())
      return ring_.try_push(e);
    std::lock_guard guard{mtx_};
    if (depth() >= opts_.capacity)
      return false;
    auto active = std::max<std::size_t>(active_.load(std::memory_order_relaxed), 1);
    auto target = opts_.dispatch == dispatch_policy::round_robin
                      ? next_slot_++ % active
                      : static_cast<std::size_t>(e.key % active);
    slots_[target].queue.push_back(std::move(e));
    slots_[target].queued.fetch_add(1, std::memory_order_release);
    ++own_depth_;
    placed_slot_ = target;
    return true;
  }

  std::optional<entry> evict_oldest() {
    std::lock_guard guard{mtx_};
    return take_oldest();
  }

  // A job the pool could not keep (evicted, cancelled while parked): answered with `reason`.
  void refuse(entry&& e, const caf::error& reason) {
    if (e.reply)
      fail_reply(e.reply, reason);
    settled_.fetch_add(1, std::memory_order_seq_cst);
  }

  [[nodiscard]] admission_outcome stopped() const noexcept {
    return is_closed() ? admission_outcome::closed : admission_outcome::accepted;
  }

  // A closing pool keeps what parked (its workers drain it); only cancel_all() fails it.
  [[nodiscard]] std::optional<caf::error> parking_refused() const {
    if (cancelling_.load(std::memory_order_seq_cst))
      return make_error(runtime_errc::cancelled, std::string{"the pool stopped"});
    return std::nullopt;
  }

  // A parked job that entered a queue wakes a worker for it, then tells its submitter.
  typename admission::entered_callback entered_callback(std::function<void()>& on_queued) {
    return [this, notify = std::move(on_queued)](caf::execution_unit* ctx) {
      after_push(placed_slot_, ctx);
      if (notify)
        notify();
    };
  }

  // Requires mtx_.
  std::optional<entry> take_oldest() {
    if (balanced()) {
      std::optional<entry> e;
      ring_.try_pop(e);
      return e;
    }
    slot_state* oldest = nullptr;
    for (auto& s : slots_)
      if (!s.queue.empty() &&
          (oldest == nullptr || s.queue.front().seq < oldest->queue.front().seq))
        oldest = &s;
    if (oldest == nullptr)
      return std::nullopt;
    std::optional<entry> e{std::move(oldest->queue.front())};
    oldest->queue.pop_front();
    oldest->queued.fetch_sub(1, std::memory_order_release);
    --own_depth_;
    return e;
  }

  void wake_any(caf::execution_unit* ctx) {
    auto n = std::min(slots_.size(), std::max<std::size_t>(active(), 1));
    for (std::size_t i = 0; i < n; ++i)
      if (wake_slot(i, ctx))
        return;
  }

  static constexpr uint64_t may_be_idle = 1;

  // A hint set by the turn after the one that set (or cleared) `hint`.
  static constexpr uint64_t next_idle_hint(uint64_t hint) noexcept {
    return ((hint | may_be_idle) + 1) | may_be_idle;
  }

  /// Wakes the slot's worker if it has one and it is idle (step 1 of the lifetime protocol).
  bool wake_slot(std::size_t slot, caf::execution_unit* ctx) {
    auto& s = slots_[slot];
    // After the caller's barrier (see may_idle): a worker that runs needs no wake-up, and its
    // slot's reader count stays off this thread's path.
    // Seq_cst: the load after a seq_cst claim in after_push (a plain load on x86).
    auto hint = s.idle_hint.load(std::memory_order_seq_cst);
    if ((hint & may_be_idle) == 0)
      return false;
    s.readers.fetch_add(1, std::memory_order_seq_cst);
    auto* w = s.worker.load(std::memory_order_seq_cst);
    bool woken = w != nullptr && w->wake(ctx);
    s.readers.fetch_sub(1, std::memory_order_release);
    // Step 4: the worker is scheduled and will end a turn, whose hint comes after this exchange
    // in the hint's modification order (or the exchange fails). Relaxed: it succeeds only
    // while the hint is the one read above.
    if (woken)
      s.idle_hint.compare_exchange_strong(hint, hint & ~may_be_idle, std::memory_order_relaxed);
    return woken;
  }

  /// Drops the retired references no reader can still use (step 3). Requires keep_mtx_.
  void reclaim_retired() {
    std::erase_if(retired_, [&](const retired_worker& r) {
      return slots_[r.slot].readers.load(std::memory_order_seq_cst) == 0;
    });
  }

  pool_options opts_;
  std::atomic<std::size_t> active_;
  std::array<slot_state, pool_options::max_workers> slots_;
  mpmc_ring<entry> ring_;

  mutable spin_lock mtx_;
  std::condition_variable_any idle_;
  std::deque<entry> front_;
  std::size_t own_depth_ = 0;
  std::size_t next_slot_ = 0;
  // The slot whose queue the calling thread's last try_place() filled (none: the shared ring):
  // read right after the placement, on the same thread, to wake that slot's worker.
  static inline thread_local std::optional<std::size_t> placed_slot_;

  std::atomic<std::size_t> front_count_{0};
  std::atomic<std::size_t> idle_waiters_{0};
  std::atomic<bool> closed_flag_{false};
  // Set by cancel_all(): a job that parks from now on is cancelled at once.
  std::atomic<bool> cancelling_{false};
  // Submitters write accepted_, workers their slots' counts (and settled_ for what no worker
  // settles): apart, so that counting a job does not move one cache line back and forth
  // between them.
  // Accepted jobs (counted before they can be taken, so that the count never misses one while
  // it moves between the ring, the queues, the parked list and a worker's batch), and those
  // answered or refused since: shutdown drains until the two are equal. Each submit counts
  // (one that is not accepted is settled at once), so it also numbers them (stamp).
  alignas(64) std::atomic<uint64_t> accepted_{0};
  std::atomic<uint64_t> anchor_{0};
  // Jobs settled without a worker (refused, cancelled); a worker's are its slot's.
  alignas(64) std::atomic<uint64_t> settled_{0};
  std::atomic<uint64_t> failed_{0};
  std::atomic<uint64_t> retried_{0};
  std::atomic<uint64_t> restarts_{0};
  std::atomic<uint64_t> cancelled_{0};
  alignas(64) latency_histogram latency_;

  std::mutex keep_mtx_;
  std::condition_variable detached_;
  struct retired_worker {
    std::size_t slot;
    caf::strong_actor_ptr ref;
  };
  std::vector<retired_worker> retired_; // ended workers a reader may still touch
  std::size_t live_ = 0;
  std::shared_ptr<event_stream> events_;
};

} // namespace troupe::detail
