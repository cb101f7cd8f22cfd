#include "troupe/distribution/detail/worker_multiplexer.hpp"

#include <utility>

#include <caf/scheduler/abstract_coordinator.hpp>

namespace troupe::detail {

// Posted through CAF's pipe to end a poll's epoll_wait; does nothing when it runs. One per
// multiplexer, counted per post: a wake-up allocates nothing (it runs under the scheduler's
// park mutex), and the pipe's last copy, released by CAF's destructor, frees it.
class worker_multiplexer::wake_up final : public caf::resumable, public caf::ref_counted {
public:
  subtype_t subtype() const override { return function_object; }
  void intrusive_ptr_add_ref_impl() override { ref(); }
  void intrusive_ptr_release_impl() override { deref(); }
  resume_result resume(caf::execution_unit*, size_t) override { return done; }
};

worker_multiplexer::worker_multiplexer(caf::actor_system* sys)
    : default_multiplexer(sys), wake_up_(caf::make_counted<wake_up>()) {}

void worker_multiplexer::post_wake_up() {
  wake_up_->ref(); // the pipe's reference, which the loop drops after running it
  default_multiplexer::exec_later(wake_up_.get()); // through the pipe: no thread is the loop's
}

worker_multiplexer::~worker_multiplexer() {
  // Posted after the middleman stopped: released as CAF releases what is left in its pipe.
  for (auto& job : posted_)
    caf::scheduler::abstract_coordinator::cleanup_and_release(job.release());
}

void worker_multiplexer::exec_later(caf::resumable* ptr) {
  auto kind = ptr->subtype();
  if (!by_workers_ ||
      (kind != caf::resumable::io_actor && kind != caf::resumable::function_object)) {
    default_multiplexer::exec_later(ptr); // CAF's loop; or an actor, which goes to the scheduler
    return;
  }
  bool wake_poller = false;
  {
    std::lock_guard guard{mtx_};
    posted_.emplace_back(ptr, false); // adopts the reference the caller passes
    wake_poller = std::exchange(waiting_, false);
  }
  if (wake_poller)
    post_wake_up();
}

void worker_multiplexer::wake() {
  bool wake_poller = false;
  {
    std::lock_guard guard{mtx_};
    wake_poller = std::exchange(waiting_, false);
    if (!wake_poller)
      wake_pending_ = true;
  }
  if (wake_poller)
    post_wake_up();
}

bool worker_multiplexer::try_run_once() {
  if (!stopping_)
    return poll(false);
  stopping_ = false;
  make_supervisor().reset(); // posts the pipe's close, after the brokers' quit
  while (num_socket_handlers() > 0)
    poll(true);
  return false;
}

bool worker_multiplexer::poll(bool block) {
  std::vector<caf::intrusive_ptr<caf::resumable>> jobs;
  bool wait = false;
  {
    std::lock_guard guard{mtx_};
    jobs.swap(posted_);
    wait = block && jobs.empty() && !wake_pending_;
    waiting_ = wait;
    wake_pending_ = false;
  }
  for (auto& job : jobs)
    resume(std::move(job));
  bool ran = !jobs.empty();
  // The jobs' socket registrations (add, del) wait in a list that poll_once applies only after
  // an epoll_wait that reported something: apply them now, as CAF does after its own list.
  if (ran)
    handle_internal_events();
  // A wake-up written after the flag was set makes this epoll_wait return at once.
  ran = poll_once(wait) || ran;
  if (wait) {
    std::lock_guard guard{mtx_};
    waiting_ = false;
  }
  return ran;
}

} // namespace troupe::detail
