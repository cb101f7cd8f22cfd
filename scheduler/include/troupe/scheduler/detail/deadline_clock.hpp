#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <thread>

#include <caf/detail/thread_safe_actor_clock.hpp>
#include <caf/fwd.hpp>

namespace troupe::detail {

/// The clock of Troupe's coordinator: CAF's timeouts and delayed messages (request timeouts,
/// the timeout an actor arms for its request deadlines, delayed sends) in one schedule that the
/// callers change themselves, under a lock, and a thread that sleeps until the earliest entry
/// is due. CAF's own clock passes every change to its thread through a queue and wakes the
/// thread for each one: a request with a timeout woke it twice (set, then cancel), a third of
/// the thread wake-ups of a remote round trip. Here only an entry due before the one the
/// thread sleeps for wakes it; a cancellation never does (the thread finds nothing due and
/// sleeps again). A terminating actor that never set a timeout takes no lock (one relaxed load
/// of the count of cancellable entries).
///
/// Due entries are delivered outside the lock, as CAF's clock does on its thread, and entries
/// dropped by cancel_all() or stop() are destroyed outside it too: the last reference to an
/// actor may go with them, and an actor's cleanup cancels its timeouts.
///
/// It derives from CAF's thread-safe clock only because CAF's coordinator declares its clock
/// so; it uses none of that clock's queue or loop.
///
/// Thread safety: the actor_clock members may be called from any thread; start() and stop()
/// by the coordinator, once each.
class deadline_clock final : public caf::detail::thread_safe_actor_clock {
public:
  deadline_clock() = default;
  deadline_clock(const deadline_clock&) = delete;
  deadline_clock& operator=(const deadline_clock&) = delete;
  /// Stops the thread if stop() was not called.
  ~deadline_clock() override;

  /// Starts the thread that delivers due entries; it reports itself to `sys`'s thread hooks.
  void start(caf::actor_system& sys);
  /// Stops the thread and drops what was not due yet (as CAF's clock at its end).
  void stop();

  void set_ordinary_timeout(time_point t, caf::abstract_actor* self, caf::atom_value type,
                            uint64_t id) override;
  void set_multi_timeout(time_point t, caf::abstract_actor* self, caf::atom_value type,
                         uint64_t id) override;
  void set_request_timeout(time_point t, caf::abstract_actor* self, caf::message_id id) override;
  void cancel_ordinary_timeout(caf::abstract_actor* self, caf::atom_value type) override;
  void cancel_request_timeout(caf::abstract_actor* self, caf::message_id id) override;
  void cancel_timeouts(caf::abstract_actor* self) override;
  void schedule_message(time_point t, caf::strong_actor_ptr receiver,
                        caf::mailbox_element_ptr content) override;
  void schedule_message(time_point t, caf::group target, caf::strong_actor_ptr sender,
                        caf::message content) override;
  void cancel_all() override;

  /// Entries not delivered or cancelled yet (for tests).
  [[nodiscard]] std::size_t pending() const;
  /// What the thread waits for (for tests): time_point::max() while it waits with nothing
  /// scheduled, the earliest entry's time while it waits for that, time_point::min() while it
  /// runs.
  [[nodiscard]] time_point sleeping_until() const;
  /// How often a change woke the thread (for tests: cancellations and later entries do not).
  [[nodiscard]] std::size_t wake_ups() const noexcept {
    return wake_ups_.load(std::memory_order_relaxed);
  }

private:
  using guard_type = std::unique_lock<std::mutex>;

  // After an entry was added (lock held): publishes the count of cancellable entries and wakes
  // the thread if the earliest entry is due before the time it sleeps until. Unlocks.
  void added(guard_type& guard);
  // After a cancellation (lock held): publishes the count.
  void publish_count() noexcept;
  void run();

  mutable std::mutex mtx_;
  std::condition_variable wake_;
  // Lock held. When the thread waits: the time it waits until (max: no entry); while it runs:
  // min, so that no change wakes it (it reads the schedule before it waits again).
  time_point sleeping_until_ = time_point::min();
  bool stopping_ = false;
  // actor_lookup_.size(), stored under the lock; read without it by cancel_timeouts().
  std::atomic<std::size_t> cancellable_{0};
  std::atomic<std::size_t> wake_ups_{0};
  std::thread thread_;
};

} // namespace troupe::detail
