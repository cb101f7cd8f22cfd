#pragma once

// CAF's default multiplexer with a queue of its own for the jobs posted to it while Troupe's
// workers run it (worker_polling.hpp).
//
// CAF's multiplexer takes a job posted from another thread through its pipe (a write, then an
// epoll_wait and a read on the loop's side) and a job posted from its own thread into a list
// (its pipe is bounded, and the loop's thread, its only reader, would block writing into a full
// one). Run by the workers, no thread is the loop's own: every post went through the pipe, and
// the worker that polls could block on its own pipe (a node that goes down posts once per
// proxy from inside the loop; 8,192 posts fill a pipe of 64 KiB). Here a post goes into a list
// under a lock, whoever polls next runs it, and the pipe carries only a wake-up for a poll that
// waits in epoll_wait (one until that poll returns). A worker that posts and then polls itself
// (a reply it sends) costs no system call for the post.
//
// With CAF's own loop (its thread, CAF's schedulers) it behaves as CAF's multiplexer.

#include <mutex>
#include <vector>

#include <caf/intrusive_ptr.hpp>
#include <caf/io/network/default_multiplexer.hpp>
#include <caf/resumable.hpp>

namespace troupe::detail {

/// Thread safety: exec_later(), post(), dispatch() and wake() from any thread; poll(),
/// try_run_once() and run_once() by one thread at a time (the poll role).
class worker_multiplexer final : public caf::io::network::default_multiplexer {
public:
  explicit worker_multiplexer(caf::actor_system* sys);
  worker_multiplexer(const worker_multiplexer&) = delete;
  worker_multiplexer& operator=(const worker_multiplexer&) = delete;
  ~worker_multiplexer() override;

  /// Switches to the workers' loop: posts queue here. Called before any other thread uses the
  /// multiplexer (worker_polling::init, before the workers start).
  void run_by_workers() noexcept { by_workers_ = true; }

  void exec_later(caf::resumable* ptr) override;

  /// One turn of the loop: the posted jobs, then the sockets; with `block` and nothing posted,
  /// waits in epoll_wait until a socket is ready or wake() is called. Whether it ran anything.
  bool poll(bool block);

  /// Ends the wait of a poll(true), or makes the next one return at once.
  void wake();

  /// Called once the workers stopped polling (worker_polling::stop), before the middleman's
  /// stop: that stop's loop (try_run_once) then runs as CAF's own thread ends.
  void stopping() noexcept { stopping_ = true; }

  /// poll(false); after stopping(), what CAF's thread does at the middleman's stop: it closes
  /// the pipe once what is posted ran and polls until no socket is left, so that every
  /// connection the brokers closed is taken off the loop (a connection left on it keeps its
  /// broker alive: a leak). The middleman's stop in manual mode polls only until one turn
  /// finds nothing.
  bool try_run_once() override;
  void run_once() override { poll(true); }

private:
  class wake_up;

  void post_wake_up();

  caf::intrusive_ptr<wake_up> wake_up_;
  std::mutex mtx_;
  std::vector<caf::intrusive_ptr<caf::resumable>> posted_; // guarded by mtx_
  bool waiting_ = false;      // guarded by mtx_: a poll waits in epoll_wait
  bool wake_pending_ = false; // guarded by mtx_: wake() came while none waited
  bool by_workers_ = false;
  bool stopping_ = false; // set and read by the thread that stops the actor system
};

} // namespace troupe::detail
