#pragma once

// Waking a suspended task from any thread, without ever resuming it there: the waker posts a
// job to the task's actor, and the job resumes the task in the actor's turn unless the awaiter
// was destroyed meanwhile (its frame destroyed with the actor, or the loser of a first_of).

#include <coroutine>
#include <memory>
#include <utility>

#include <caf/actor_cast.hpp>

#include "troupe/coro/detail/actor_core.hpp"

namespace troupe::detail {

/// What an awaiter shares with the job that wakes it; read and written on the actor only.
struct wake_link {
  std::coroutine_handle<> waiting;
};

/// Resumes the linked awaiter, if it still waits.
class wake_job final : public ::troupe::reply_job {
public:
  explicit wake_job(std::shared_ptr<wake_link> link)
      : ::troupe::reply_job(0), link_(std::move(link)) {}
  void run() override {
    if (auto h = std::exchange(link_->waiting, {}))
      h.resume();
  }

private:
  std::shared_ptr<wake_link> link_;
};

/// A callable for any thread that wakes `link`'s awaiter on `self`. It keeps `self` alive
/// until it is dropped, so a waker outliving its actor posts to a closed reply queue (where the
/// job is dropped), never to freed memory.
inline auto make_waker(::troupe::actor* self, std::shared_ptr<wake_link> link) {
  return [self, link = std::move(link), keep_alive = caf::actor_cast<caf::strong_actor_ptr>(self)] {
    self->post_reply(std::make_unique<wake_job>(link));
  };
}

} // namespace troupe::detail
