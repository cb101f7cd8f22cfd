#pragma once

namespace troupe {

/// An event loop that Troupe's idle workers run themselves (work_stealing::attach_io), as Tokio's
/// workers run its I/O driver: a worker with nothing to do waits in the driver instead of on its
/// condition variable, so a message that arrives on a socket is handled by the worker that runs
/// the actor it wakes, and a reply that actor sends is written by the same worker, with no
/// hand-off to an I/O thread and back (about a thread wake-up each way).
///
/// One worker at a time runs the driver (the poll role); the others park as usual. The scheduler
/// calls wake() when it has work for the worker that waits in the driver and no other is idle.
///
///   class my_loop : public troupe::io_driver {
///     bool poll(bool block) override { return loop_.run_once(block ? -1 : 0); }
///     void wake() override { loop_.interrupt(); }
///   };
///
/// Thread safety: poll() is called by one thread at a time (not always the same one); wake() by
/// any thread, at any time, also while poll() runs.
class io_driver {
public:
  virtual ~io_driver() = default;

  /// Runs what is ready (reads, writes, posted jobs); with `block`, first waits until something
  /// is or wake() is called. Returns whether it ran anything.
  virtual bool poll(bool block) = 0;

  /// Makes a poll(true) that waits, or the next one, return soon.
  virtual void wake() = 0;
};

} // namespace troupe
