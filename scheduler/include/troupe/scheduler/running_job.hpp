#pragma once

#include <caf/resumable.hpp>

namespace troupe {

namespace detail {
inline thread_local caf::resumable* running_job_now = nullptr;
} // namespace detail

/// The job (an actor, usually) that the calling thread runs now: set by Troupe's workers around
/// each resume, and by troupe::actor itself, so that its handlers see it under any scheduler
/// policy; nullptr on a thread that runs no job. Lets code that is handed no `self` tell which
/// actor calls it (a mailbox keeps one sender's messages in one lane by it).
/// Thread safety: reads the calling thread's own value.
[[nodiscard]] inline caf::resumable* running_job() noexcept {
  return detail::running_job_now;
}

/// Makes `job` the calling thread's running job for the scope's lifetime, then restores the one
/// before (a job may run another's code inline).
class running_job_scope {
public:
  /// Makes `job` the running job; the destructor restores the one before.
  explicit running_job_scope(caf::resumable* job) noexcept : previous_(detail::running_job_now) {
    detail::running_job_now = job;
  }
  running_job_scope(const running_job_scope&) = delete;
  running_job_scope& operator=(const running_job_scope&) = delete;
  ~running_job_scope() { detail::running_job_now = previous_; }

private:
  caf::resumable* previous_;
};

} // namespace troupe
