#pragma once

// A CAF event-based actor that also takes messages from a queue Troupe owns.
//
// Why not a CAF message per Troupe message: CAF allocates a mailbox element and matches a
// type-erased message for each, and its mailbox has no bound. A Troupe mailbox is a typed
// lock-free queue; CAF only schedules the actor. The actor's CAF inbox state (blocked while the
// actor is idle) is the single "is it scheduled?" flag for both kinds of messages, so an actor
// never runs on two threads at once and links, monitors, exits and timers keep working.
//
// Protocol:
//
//  1. A producer pushes into the Troupe queue, then issues a seq_cst fence.
//  2. It looks at the CAF inbox: only when it is blocked (the actor is idle) does the producer
//     try to unblock it (CAS); the one producer whose CAS succeeds schedules the actor, exactly
//     as CAF's own enqueue does for a message arriving at an idle actor. Producers that find the
//     actor running do nothing more: no allocation, no message.
//  3. resume() drains up to max_throughput queued messages, then lets CAF handle its own
//     messages (system messages, timers, responses). CAF ends by blocking the inbox when it
//     has nothing left.
//  4. After CAF blocked the inbox, resume() fences and looks at the Troupe queue again. A
//     producer whose push it did not see must, by the two fences, see the blocked inbox in step 2
//     and schedule; or resume() sees the push, unblocks the inbox itself and asks to be resumed
//     later. Either way exactly one party schedules the actor, and no wake-up is lost.

#include <atomic>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/atom.hpp>
#include <caf/behavior.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/execution_unit.hpp>
#include <caf/scheduler/abstract_coordinator.hpp>

#include "troupe/mailbox/detail/unbounded_mpsc_queue.hpp"
#include "troupe/mailbox/mailbox_errc.hpp"
#include "troupe/scheduler/detail/store_load_barrier.hpp"

namespace troupe::detail {

using request_timeout_atom = caf::atom_constant<caf::atom("tr_rqtout")>;

/// The execution unit of the queue actor running on this thread, if any: lets a reply sent from
/// inside a handler schedule its requester on the same worker.
inline thread_local caf::execution_unit* current_unit = nullptr;

/// A reply travelling back to a requesting queue_actor. Runs on the requester.
class reply_job {
public:
  explicit reply_job(uint64_t id) : request_id(id) {}
  virtual ~reply_job() = default;
  /// For replies that carry their own continuation (request_id 0): runs it on the requester.
  virtual void run() {}
  uint64_t request_id;
};

/// What a requesting queue_actor does with a reply or a failure; lives in its table of
/// outstanding requests, keyed by request id (O(1) correlation, unlike CAF's linear search).
class continuation {
public:
  virtual ~continuation() = default;
  virtual void deliver(reply_job& reply) = 0;
  virtual void fail(caf::error err) = 0;
};

/// Another stream of work a queue_actor drains besides its own queue, such as a topic
/// subscription. Its producers wake the actor after making work available, under a lock that
/// the actor's has_pending() takes too (that lock orders the wake handshake).
class message_source {
public:
  virtual ~message_source() = default;
  /// Hands up to `max` items to their handler; returns how many. Runs on the actor.
  virtual std::size_t drain(std::size_t max) = 0;
  [[nodiscard]] virtual bool has_pending() = 0;
  /// The actor terminates: stop feeding it.
  virtual void detach() = 0;
  /// Done for good (unsubscribed, disconnected); the actor drops it after its next drain.
  [[nodiscard]] virtual bool finished() const noexcept = 0;
};

class queue_actor : public caf::event_based_actor {
public:
  explicit queue_actor(caf::actor_config& cfg) : caf::event_based_actor(cfg) {}

  // -- other sources of messages (actor only) ------------------------------------------------

  void add_source(std::shared_ptr<message_source> src) {
    auto current = sources_.load();
    auto next = std::make_shared<source_list>(current ? *current : source_list{});
    next->push_back(std::move(src));
    sources_.store(std::move(next));
    has_sources_.store(true, std::memory_order_release);
  }

  // -- replies to this actor's own requests (any thread may post) ----------------------------

  /// Queues a reply and wakes the actor; any thread.
  void post_reply(std::unique_ptr<reply_job> reply) {
    replies_.push(std::move(reply));
    store_load_barrier(reply_sync_);
    wake(current_unit);
  }

  /// Registers the continuation of a new request; returns its id. Actor only.
  uint64_t add_request(std::unique_ptr<continuation> k) {
    auto id = ++last_request_id_;
    outstanding_.emplace(id, std::move(k));
    return id;
  }

  /// Fails an outstanding request now (send failure, timeout). Actor only.
  void fail_request(uint64_t id, caf::error err) {
    auto i = outstanding_.find(id);
    if (i == outstanding_.end())
      return;
    auto k = std::move(i->second);
    outstanding_.erase(i);
    k->fail(std::move(err));
  }

  [[nodiscard]] std::size_t outstanding_requests() const noexcept { return outstanding_.size(); }

  /// Step 2: called by a producer after its push and fence. `ctx` is the producer's execution
  /// unit (so the actor runs next on the same worker) or nullptr outside the scheduler.
  /// Returns whether this call scheduled the actor (false: it runs already, or is gone).
  bool wake(caf::execution_unit* ctx) {
    auto& inbox = mailbox();
    // The plain load keeps producers that find the actor running off the inbox's cache line.
    if (!inbox.blocked() || !inbox.try_unblock())
      return false;
    caf::intrusive_ptr_add_ref(ctrl());
    if (ctx != nullptr)
      ctx->exec_later(this);
    else
      home_system().scheduler().enqueue(this);
    return true;
  }

  resume_result resume(caf::execution_unit* ctx, size_t max_throughput) override {
    const bool was_initialized = initialized_;
    if (initialized_ && !stopping_) {
      // Handlers send with self->context(): it must name the worker running them now.
      context(ctx);
      current_unit = ctx;
      drain_replies(max_throughput);
      if (auto list = has_sources() ? sources_.load() : nullptr) {
        // A local reference: a handler may replace the list (add a source) while we iterate.
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
      current_unit = nullptr;
      if (stopping_) {
        // A handler quit. CAF finalizes an actor only after one of its own messages; here we
        // are outside of those, so finalize as CAF would and tell the worker we are done.
        finalize();
        return resume_result::done;
      }
    }
    // Fast path: when CAF holds no message for this actor (the common case: everything came
    // through the Troupe queue), block its inbox directly; a full CAF round would find nothing
    // and end the same way. try_block fails when a CAF message is waiting, and CAF handles it.
    // Taken while this thread still owns the actor: once the inbox is blocked, a producer may
    // schedule the actor on another worker, which may set stopping_ at any moment.
    bool was_stopping = stopping_;
    auto result = initialized_ && mailbox().try_block()
                      ? resume_result::awaiting_message
                      : caf::event_based_actor::resume(ctx, max_throughput);
    if (result != resume_result::awaiting_message)
      return result;
    store_load_barrier(reply_sync_, queue_anchor());
    // initialized_ is only ever set to true, by this thread, so reading it here is safe.
    if (!was_stopping && initialized_ &&
        (!queue_empty() || !replies_.empty() ||
         (has_sources() && sources_pending(sources_.load()))) &&
        mailbox().try_unblock()) {
      // The first run only initialized the actor (CAF's round) while messages already wait in
      // the queue, typically sent by whoever spawned it: drain them now rather than going back
      // to the scheduler, which would put the actor at the back of the local queue and wake an
      // idle worker to steal it.
      return was_initialized ? resume_result::resume_later : resume(ctx, max_throughput);
    }
    return result;
  }

protected:
  /// Hands up to `max` queued messages to their handlers. Runs on the actor.
  virtual void drain_queue(size_t max) = 0;
  /// Also called right after the inbox was blocked, when the actor may already run on another
  /// worker: reads only state that is safe to read from any thread.
  [[nodiscard]] virtual bool queue_empty() const noexcept = 0;
  /// The anchor of the queue's side of the wake handshake (see store_load_barrier).
  virtual std::atomic<uint64_t>& queue_anchor() noexcept = 0;

  /// Called from make_behavior once the handlers exist; returns the CAF behavior every queue
  /// actor has. Everything else arrives through the Troupe queue; CAF delivers only system
  /// messages, responses and timeouts. The behavior must not be empty, or CAF would consider
  /// the actor finished.
  caf::behavior initialize_queue_actor() {
    initialized_ = true;
    return {
        [this](request_timeout_atom, uint64_t id) {
          fail_request(id, make_error(mailbox_errc::request_timeout));
        },
    };
  }

  void on_exit() override {
    // Nobody is left to run the continuations; requests still out are simply forgotten.
    outstanding_.clear();
    if (auto list = sources_.exchange(nullptr))
      for (auto& src : *list)
        src->detach();
    caf::event_based_actor::on_exit();
  }

private:
  // Copy on write behind an atomic pointer: the post-block check in resume() reads the list
  // while the actor may already run (and add or drop sources) on another worker.
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

  // Most queue actors never have a source: they skip the atomic shared_ptr (a lock in
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
      auto reply = replies_.try_pop();
      if (!reply)
        return;
      if ((*reply)->request_id == 0) {
        (*reply)->run(); // a request without timeout: nothing to look up
        continue;
      }
      auto i = outstanding_.find((*reply)->request_id);
      if (i == outstanding_.end())
        continue; // timed out or failed already: the late reply is dropped
      auto k = std::move(i->second);
      outstanding_.erase(i);
      k->deliver(**reply);
    }
  }

  unbounded_mpsc_queue<std::unique_ptr<reply_job>> replies_;
  std::atomic<uint64_t> reply_sync_{0};
  std::unordered_map<uint64_t, std::unique_ptr<continuation>> outstanding_;
  uint64_t last_request_id_ = 0;
  std::atomic<std::shared_ptr<const source_list>> sources_;
  std::atomic<bool> has_sources_{false};

protected:
  bool initialized_ = false;
  bool stopping_ = false;
};

} // namespace troupe::detail
