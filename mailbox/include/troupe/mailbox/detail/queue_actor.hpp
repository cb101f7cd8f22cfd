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

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/execution_unit.hpp>
#include <caf/scheduler/abstract_coordinator.hpp>

namespace troupe::detail {

class queue_actor : public caf::event_based_actor {
public:
  explicit queue_actor(caf::actor_config& cfg) : caf::event_based_actor(cfg) {}

  /// Step 2: called by a producer after its push and fence. `ctx` is the producer's execution
  /// unit (so the actor runs next on the same worker) or nullptr outside the scheduler.
  void wake(caf::execution_unit* ctx) {
    auto& inbox = mailbox();
    // The plain load keeps producers that find the actor running off the inbox's cache line.
    if (!inbox.blocked() || !inbox.try_unblock())
      return;
    caf::intrusive_ptr_add_ref(ctrl());
    if (ctx != nullptr)
      ctx->exec_later(this);
    else
      home_system().scheduler().enqueue(this);
  }

  resume_result resume(caf::execution_unit* ctx, size_t max_throughput) override {
    if (initialized_ && !stopping_) {
      // Handlers send with self->context(): it must name the worker running them now.
      context(ctx);
      drain_queue(max_throughput);
      if (stopping_) {
        // A handler quit. CAF finalizes an actor only after one of its own messages; here we
        // are outside of those, so finalize as CAF would and tell the worker we are done.
        finalize();
        return resume_result::done;
      }
    }
    auto result = caf::event_based_actor::resume(ctx, max_throughput);
    if (result != resume_result::awaiting_message)
      return result;
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (!stopping_ && initialized_ && !queue_empty() && mailbox().try_unblock())
      return resume_result::resume_later;
    return result;
  }

protected:
  /// Hands up to `max` queued messages to their handlers. Runs on the actor.
  virtual void drain_queue(size_t max) = 0;
  [[nodiscard]] virtual bool queue_empty() const noexcept = 0;

  /// Called from make_behavior once the handlers exist.
  void mark_initialized() noexcept { initialized_ = true; }

  bool initialized_ = false;
  bool stopping_ = false;
};

} // namespace troupe::detail
