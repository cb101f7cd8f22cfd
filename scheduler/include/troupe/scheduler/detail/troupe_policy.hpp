#pragma once

// Troupe's scheduling policy for CAF's coordinator (caf::scheduler::coordinator<troupe_policy>).
//
// Where a job goes:
//  - exec_later from the running worker (an actor woke another): the worker's LIFO slot, so the
//    woken actor runs next on the same core with warm caches (what makes request/response and
//    ping-pong fast). The job it displaces moves to the worker's local queue, where others can
//    steal it.
//  - a job that yields (resume_later): the back of the local queue; idle workers are woken to
//    steal only when the worker has other jobs too.
//  - CAF's central enqueue (actor_system::spawn, anon_send) called on one of this coordinator's
//    workers: as exec_later, the worker's LIFO slot.
//  - work from outside the workers (threads, timers): the injection queue.
//  - a job for a full local queue: the queue's older half moves to the injection queue in one
//    step, and the job takes its room.
//
// Where a worker looks, in order: every 61st time the injection queue first (so outside work is
// never starved by local work); the LIFO slot, at most 3 times in a row (so the slot cannot starve
// the queue); its local queue; the injection queue (taking its share of a burst into its local
// queue in one step); one steal attempt per other worker (taking the older half of the victim's
// queue into its own in one step); a short spin doing the same; then it parks.
//
// Parking protocol (no lost wake-up):
//  1. A worker about to park takes the park mutex, increments `sleepers`, fences (the heavy side
//     of an asymmetric fence: it makes every running thread of the process fence too), and
//     looks for work everywhere once more; it parks only if it finds none.
//  2. Whoever makes work available (push to a local or the injection queue) fences (the light
//     side: for the compiler only) and reads `sleepers`; if a worker sleeps, it takes the park
//     mutex, adds a permit and notifies one.
//  By the two fences, either the parking worker sees the new work in step 1, or the pusher sees
//  the sleeper in step 2; the permit is granted under the mutex the sleeper holds until it waits,
//  so the notification cannot fall between its check and its wait.
//
// Worker-polled I/O (io_driver.hpp; attached by the network, e.g.): one worker at a time holds
// the poll role (`polling`). A worker about to park takes the role when it is free and waits in
// the driver instead of on the condition variable (`parked_in`, under the park mutex, after
// step 1 as above); step 2 then wakes the others first and, when only the poller sleeps, wakes
// it through the driver (once until it returns: `poller_woken`). A worker that runs out of work
// polls without waiting while it spins (a reply it just sent is written, a reply that arrives
// is read, without a park), and every 61st look polls once too, so I/O is not starved while
// every worker is busy; a worker stuck in a long handler gets the same from the watchdog
// (rescue). Those two hand the role over after their poll (hand_over_role).

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <span>
#include <thread>

#include <caf/local_actor.hpp>
#include <caf/policy/unprofiled.hpp>
#include <caf/resumable.hpp>
#include <caf/scheduled_actor.hpp>
#include <caf/scheduler/abstract_coordinator.hpp>

#include "troupe/scheduler/detail/asymmetric_fence.hpp"
#include "troupe/scheduler/detail/injection_queue.hpp"
#include "troupe/scheduler/detail/local_queue.hpp"
#include "troupe/scheduler/io_driver.hpp"
#include "troupe/scheduler/work_stealing.hpp"

namespace troupe::detail {

/// Counters of one worker. Written by the worker (relaxed), read by anyone.
struct worker_counters {
  /// Adds `n` to a counter only its worker writes: a load and a store, not a locked
  /// read-modify-write (this runs for every job the LIFO slot hands out).
  template <class T>
  static void bump(std::atomic<T>& counter, T n = 1) noexcept {
    counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }

  std::atomic<uint64_t> lifo_runs{0};
  std::atomic<uint64_t> steal_attempts{0};
  std::atomic<uint64_t> steals{0};
  std::atomic<uint64_t> parks{0};
  std::atomic<uint64_t> unparks{0};
  std::atomic<int64_t> parked_ns{0};
  std::atomic<int64_t> started_ns{0};
  // For the blocked-worker watchdog: a sequence number per resume and what is running.
  std::atomic<uint64_t> resume_seq{0};
  std::atomic<bool> busy{false};
  std::atomic<caf::resumable*> current_job{nullptr};
  // Set by the watchdog while it reads current_job's actor (id, name): the worker does not
  // release the job (after_resume) until the read is over.
  std::atomic<bool> inspecting{false};
  std::atomic<uint64_t> inspect_sync{0}; // anchor of that handshake (asymmetric_fence.hpp)
  std::atomic<bool> sleeping{false};
};

class troupe_policy : public caf::policy::unprofiled {
public:
  using job_ptr = caf::resumable*;

  static int64_t now_ns() noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }

  struct coordinator_data {
    explicit coordinator_data(caf::scheduler::abstract_coordinator*) {}

    injection_queue<caf::resumable> injection;
    std::mutex park_mtx;
    std::condition_variable park_cv;
    std::atomic<std::size_t> sleepers{0};
    std::atomic<uint64_t> sync{0}; // anchor of the parking handshake (asymmetric_fence.hpp)
    std::size_t permits = 0;       // guarded by park_mtx
    // Worker-polled I/O (see the top of this file).
    std::atomic<io_driver*> io{nullptr};
    std::atomic<bool> polling{false}; // the poll role
    io_driver* parked_in = nullptr;   // guarded by park_mtx: the driver a parked poller waits in
    bool poller_woken = false;        // guarded by park_mtx
  };

  struct worker_data {
    explicit worker_data(caf::scheduler::abstract_coordinator*) {}
    // CAF builds one prototype and copies it per worker: each copy starts fresh.
    worker_data(const worker_data&) {}

    local_queue<caf::resumable> queue;
    // Taken by the owner, or by the watchdog when the owner is stuck in a long resume (so that
    // a job woken by a blocking handler cannot wait behind it forever).
    std::atomic<job_ptr> lifo{nullptr};
    unsigned lifo_streak = 0;
    uint64_t tick = 0;
    uint32_t rng = 0x9e3779b9u;
    worker_counters counters;
  };

  // -- enqueueing ------------------------------------------------------------------------------

  template <class Coordinator>
  void central_enqueue(Coordinator* self, job_ptr job) {
    // A handler that spawns or sends without its self pointer (actor_system::spawn,
    // anon_send) lands here; on one of our workers the job is as local as an exec_later.
    using worker_type = typename Coordinator::worker_type;
    if (auto* current = static_cast<worker_type*>(current_worker());
        current != nullptr && current->parent() == self) {
      internal_enqueue(current, job);
      return;
    }
    d(self).injection.push(job);
    notify(d(self));
  }

  template <class Worker>
  void external_enqueue(Worker* self, job_ptr job) {
    // CAF uses this for its shutdown helpers, from the thread stopping the system. Any worker may
    // take it; CAF repeats until every worker has taken one.
    auto& c = d(self->parent());
    c.injection.push(job);
    notify(c);
  }

  template <class Worker>
  void internal_enqueue(Worker* self, job_ptr job) {
    auto& w = d(self);
    if (current_worker() != self) {
      // exec_later on a worker from a thread that is not that worker: not ours to touch.
      external_enqueue(self, job);
      return;
    }
    if (auto* displaced = w.lifo.exchange(job, std::memory_order_acq_rel))
      push_local(self, displaced);
  }

  template <class Worker>
  void resume_job_later(Worker* self, job_ptr job) {
    auto& c = d(self->parent());
    auto& w = d(self);
    // When the job is all this worker has, it takes the job again at once, so no other worker
    // is needed. Waking a parked one would only have it steal this job (moving the actor to the
    // other core) or find nothing and park again, and a worker that parks interrupts every core
    // of the process (its heavy fence): a mailbox drained in turns of max_throughput paid that
    // once per turn.
    const bool alone =
        w.queue.size_hint() == 0 && w.lifo.load(std::memory_order_relaxed) == nullptr;
    push_or_spill(c, w, job);
    if (!alone)
      notify(c);
  }

  // -- dequeueing ------------------------------------------------------------------------------

  template <class Worker>
  job_ptr dequeue(Worker* self) {
    auto& w = d(self);
    if (current_worker() == nullptr) {
      current_worker() = self;
      w.counters.started_ns.store(now_ns(), std::memory_order_relaxed);
    }
    auto& c = d(self->parent());
    for (;;) {
      if (++w.tick % 61 == 0) {
        if (try_poll(c) != polled::no)
          hand_over_role(c);
        if (auto* job = c.injection.pop())
          return job;
      }
      if (auto* job = w.lifo.exchange(nullptr, std::memory_order_acq_rel)) {
        if (w.lifo_streak < 3) {
          ++w.lifo_streak;
          worker_counters::bump(w.counters.lifo_runs);
          return job;
        }
        // Fairness: the slot yields to the queue. No wake-up for other workers: this worker
        // takes the queue's head right below, and waking an idle worker here would move
        // ping-pong partners apart.
        push_or_spill(c, w, job);
      }
      w.lifo_streak = 0;
      if (auto* job = w.queue.pop())
        return job;
      if (auto* job = take_injected(self))
        return job;
      if (auto* job = steal(self))
        return job;
      // With a driver, the spin polls it (in place of the yield): a reply that arrives on a
      // socket meanwhile is read at once instead of after the park.
      auto io = try_poll(c);
      for (int spin = 0; spin < 32 && io != polled::something; ++spin) {
        if (io == polled::no)
          std::this_thread::yield();
        if (auto* job = take_injected(self))
          return job;
        if (auto* job = steal(self))
          return job;
        io = try_poll(c);
      }
      if (io != polled::something)
        park(self);
    }
  }

  template <class Worker>
  void before_resume(Worker* self, job_ptr job) {
    // Kept to three plain stores: this runs for every resume. The watchdog turns the job into
    // an actor id and name only when it has something to report.
    auto& k = d(self).counters;
    k.current_job.store(job, std::memory_order_relaxed);
    k.resume_seq.store(k.resume_seq.load(std::memory_order_relaxed) + 1, std::memory_order_release);
    k.busy.store(true, std::memory_order_release);
  }

  template <class Worker>
  void after_resume(Worker* self, job_ptr) {
    auto& k = d(self).counters;
    // Dekker with the watchdog (both sides store, then load): either it sees busy false and
    // leaves the job alone, or this sees `inspecting` and waits for its read to end before the
    // worker drops its reference to the job (which may destroy the actor). This side runs after
    // every resume and the watchdog's only when it inspects a stuck worker, so the watchdog
    // pays the fence for both (asymmetric_fence.hpp).
    k.busy.store(false, std::memory_order_relaxed);
    asymmetric_light_fence(k.inspect_sync);
    while (k.inspecting.load(std::memory_order_acquire))
      std::this_thread::yield();
  }

  // -- shutdown --------------------------------------------------------------------------------

  template <class Worker, class UnaryFunction>
  void foreach_resumable(Worker* self, UnaryFunction f) {
    auto& w = d(self);
    if (auto* job = w.lifo.exchange(nullptr, std::memory_order_acq_rel))
      f(job);
    while (auto* job = w.queue.pop())
      f(job);
  }

  template <class Coordinator, class UnaryFunction>
  void foreach_central_resumable(Coordinator* self, UnaryFunction f) {
    while (auto* job = d(self).injection.pop())
      f(job);
  }

private:
  static void*& current_worker() noexcept {
    static thread_local void* worker = nullptr;
    return worker;
  }

  template <class Worker>
  void push_local(Worker* self, job_ptr job) {
    auto& c = d(self->parent());
    push_or_spill(c, d(self), job);
    notify(c);
  }

  // Owner only. A full local queue hands its older half to the injection queue, where every
  // worker looks, in one step (one lock per half queue, not one per job, when a handler wakes
  // thousands of actors), and keeps its newer jobs and `job`.
  static void push_or_spill(coordinator_data& c, worker_data& w, job_ptr job) {
    if (w.queue.push(job))
      return;
    std::array<job_ptr, local_queue<caf::resumable>::capacity() / 2> older;
    auto k = w.queue.pop_older_half(older);
    c.injection.push(std::span<job_ptr const>{older.data(), k});
    if (!w.queue.push(job)) // cannot fail (the half made room; thieves only add room): kept safe
      c.injection.push(job);
  }

  // Owner only, when its local queue has nothing: the oldest injected job to run now and, in
  // the same lock, up to its share of the rest (the queue's length over the workers, at most
  // half a local queue) into its local queue, where the others can steal them back.
  template <class Worker>
  job_ptr take_injected(Worker* self) {
    auto* parent = self->parent();
    auto& c = d(parent);
    auto& w = d(self);
    auto depth = c.injection.size();
    if (depth == 0)
      return nullptr;
    auto room = w.queue.capacity() - w.queue.size_hint(); // exact or more: thieves only take
    auto share = std::min({depth / parent->num_workers() + 1, w.queue.capacity() / 2, room + 1});
    std::size_t moved = 0;
    auto* job = c.injection.pop(share, [&](job_ptr rest) {
      (void)w.queue.push(rest); // room counted above
      ++moved;
    });
    if (moved > 0)
      notify(c); // an idle worker can steal some of them
    return job;
  }

  template <class Worker>
  job_ptr steal(Worker* self) {
    auto* parent = self->parent();
    auto n = parent->num_workers();
    if (n < 2)
      return nullptr;
    auto& w = d(self);
    w.rng ^= w.rng << 13;
    w.rng ^= w.rng >> 17;
    w.rng ^= w.rng << 5;
    auto start = w.rng % n;
    for (std::size_t i = 0; i < n; ++i) {
      auto victim = (start + i) % n;
      if (victim == self->id())
        continue;
      auto& q = d(parent->worker_by_id(victim)).queue;
      if (q.size_hint() == 0)
        continue;
      worker_counters::bump(w.counters.steal_attempts);
      if (auto* job = q.steal_into(w.queue)) {
        worker_counters::bump(w.counters.steals);
        return job;
      }
    }
    return nullptr;
  }

  template <class Worker>
  bool work_available(Worker* self) {
    auto* parent = self->parent();
    if (d(parent).injection.size() > 0)
      return true;
    for (std::size_t i = 0; i < parent->num_workers(); ++i)
      if (d(parent->worker_by_id(i)).queue.size_hint() > 0)
        return true;
    return false;
  }

  template <class Worker>
  void park(Worker* self) {
    // A plain CAF spawn in a handler (self->spawn) left CAF's silent logger on this thread,
    // which then costs a process-wide spinlock around every resume (forget_thread_logger).
    // Troupe's own spawns drop it at once; a worker that runs out of work drops what a user's
    // spawn left.
    work_stealing::forget_thread_logger();
    auto& c = d(self->parent());
    auto& k = d(self).counters;
    std::unique_lock guard{c.park_mtx};
    c.sleepers.fetch_add(1, std::memory_order_seq_cst);
    // Parking is rare next to the pushes that notify (one per woken actor that leaves the LIFO
    // slot), so the parking worker pays the fence for both sides.
    asymmetric_heavy_fence(c.sync);
    bool in_driver = false;
    if (c.permits == 0 && !work_available(self)) {
      worker_counters::bump(k.parks);
      auto t0 = now_ns();
      k.sleeping.store(true, std::memory_order_relaxed);
      in_driver = wait_in_driver(c, guard);
      if (!in_driver)
        c.park_cv.wait(guard, [&] { return c.permits > 0; });
      k.sleeping.store(false, std::memory_order_relaxed);
      worker_counters::bump(k.parked_ns, now_ns() - t0);
      worker_counters::bump(k.unparks);
    }
    // A permit is for a worker waiting on the condition variable (notify counts them apart from
    // the poller): the poller leaves it to the one it woke.
    if (c.permits > 0 && !in_driver)
      --c.permits;
    c.sleepers.fetch_sub(1, std::memory_order_seq_cst);
  }

  // Park step 1 for the worker that takes the free poll role: waits in the driver, with the park
  // mutex released meanwhile; false (role taken, no driver) when it is to wait on the condition
  // variable instead.
  static bool wait_in_driver(coordinator_data& c, std::unique_lock<std::mutex>& guard) {
    if (c.io.load(std::memory_order_relaxed) == nullptr ||
        c.polling.exchange(true, std::memory_order_acquire))
      return false;
    auto* io = c.io.load(std::memory_order_acquire);
    if (io == nullptr) {
      c.polling.store(false, std::memory_order_release);
      return false;
    }
    c.parked_in = io;
    c.poller_woken = false;
    guard.unlock();
    io->poll(true);
    guard.lock();
    c.parked_in = nullptr;
    c.polling.store(false, std::memory_order_release);
    return true;
  }

  enum class polled { no, nothing, something };

  // After a poll by a thread that does not go on to park (a busy worker's 61st look, the
  // watchdog): a worker may have parked on the condition variable meanwhile, finding the role
  // taken; one is woken to take it, or none would wait in the driver. (A worker that leaves
  // the driver with work hands nothing over, as Tokio's: it polls again when it runs out.)
  // The release of the role and this look at `sleepers` pair with the parking worker's
  // increment and its look at the role as step 2 with step 1.
  static void hand_over_role(coordinator_data& c) {
    asymmetric_light_fence(c.sync);
    if (c.sleepers.load(std::memory_order_relaxed) == 0)
      return;
    std::lock_guard guard{c.park_mtx};
    if (c.parked_in == nullptr && c.io.load(std::memory_order_relaxed) != nullptr &&
        c.sleepers.load(std::memory_order_relaxed) > c.permits) {
      ++c.permits;
      c.park_cv.notify_one();
    }
  }

  // Polls the driver once without waiting when one is attached and no one else holds the role:
  // `no` when it did not poll, else whether the poll ran anything.
  static polled try_poll(coordinator_data& c) {
    if (c.io.load(std::memory_order_relaxed) == nullptr ||
        c.polling.exchange(true, std::memory_order_acquire))
      return polled::no;
    auto result = polled::no;
    // Read again under the role: detach_io clears it, then waits for the role.
    if (auto* io = c.io.load(std::memory_order_acquire))
      result = io->poll(false) ? polled::something : polled::nothing;
    c.polling.store(false, std::memory_order_release);
    return result;
  }

public:
  /// Moves a stuck worker's LIFO job to the injection queue and, when its local queue holds
  /// jobs, wakes an idle worker to steal them; called by the watchdog. Jobs can wait in a local
  /// queue with every other worker parked: a job that yielded alone woke nobody
  /// (resume_job_later), and its worker may have taken an injected job first.
  static void rescue(coordinator_data& c, worker_data& w) {
    // The driver too: with this worker stuck, nothing may poll it until another runs out of
    // work. Bounded, so that a flood cannot keep the watchdog here.
    auto io = try_poll(c);
    for (int i = 0; i < 64 && io == polled::something; ++i)
      io = try_poll(c);
    if (io != polled::no)
      hand_over_role(c);
    if (auto* job = w.lifo.exchange(nullptr, std::memory_order_acq_rel)) {
      c.injection.push(job);
      notify(c);
    } else if (w.queue.size_hint() > 0) {
      notify(c);
    }
  }

  /// Wakes a parked worker if one sleeps (step 2 of the parking protocol): one that waits on the
  /// condition variable, else the one that waits in the driver.
  static void notify(coordinator_data& c) {
    asymmetric_light_fence(c.sync);
    if (c.sleepers.load(std::memory_order_relaxed) == 0)
      return;
    std::lock_guard guard{c.park_mtx};
    auto on_cv = c.sleepers.load(std::memory_order_relaxed) - (c.parked_in != nullptr ? 1 : 0);
    if (on_cv > c.permits) {
      ++c.permits;
      c.park_cv.notify_one();
    } else if (c.parked_in != nullptr && !c.poller_woken) {
      c.poller_woken = true;
      c.parked_in->wake();
    }
  }

  /// Lets idle workers run `io` (work_stealing::attach_io); false when one is attached already.
  static bool attach(coordinator_data& c, io_driver& io) {
    io_driver* none = nullptr;
    if (!c.io.compare_exchange_strong(none, &io, std::memory_order_acq_rel))
      return false;
    // Workers parked already wait on the condition variable: one comes back to take the role.
    std::lock_guard guard{c.park_mtx};
    if (c.sleepers.load(std::memory_order_relaxed) > c.permits) {
      ++c.permits;
      c.park_cv.notify_one();
    }
    return true;
  }

  /// Stops the workers from running the attached driver; returns when none runs it.
  static void detach(coordinator_data& c) {
    io_driver* io = nullptr;
    {
      std::lock_guard guard{c.park_mtx};
      io = c.io.exchange(nullptr, std::memory_order_acq_rel);
      if (c.parked_in != nullptr && !c.poller_woken) {
        c.poller_woken = true;
        c.parked_in->wake();
      }
    }
    if (io == nullptr)
      return;
    // Whoever holds the role now read the driver before it was cleared; whoever takes it later
    // reads none. Holding the role once ourselves waits for the former.
    while (c.polling.exchange(true, std::memory_order_acquire))
      std::this_thread::yield();
    c.polling.store(false, std::memory_order_release);
  }
};

} // namespace troupe::detail

// CAF's coordinator<troupe_policy> must see the worker specialization wherever it is used.
#include "troupe/scheduler/detail/troupe_worker.hpp"
