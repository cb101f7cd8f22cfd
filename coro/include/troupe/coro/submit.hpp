#pragma once

#include <coroutine>
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "troupe/coro/detail/actor_core.hpp"
#include "troupe/coro/detail/reply_target.hpp"
#include "troupe/coro/task.hpp"
#include "troupe/supervision/worker_pool.hpp"

namespace troupe::coro {

/// A job submitted to a worker_pool and its answer, awaited inside a troupe::task: `co_await`
/// yields caf::expected<reply_t<Job>>. See coro::submit().
template <class Job>
class pool_submit final : public detail::table_target<reply_t<Job>> {
public:
  /// The value the job's handler answers.
  using reply_type = reply_t<Job>;

  /// Nothing is submitted before co_await.
  pool_submit(worker_pool<Job> pool, Job job, uint64_t key)
      : pool_(std::move(pool)), job_(std::move(job)), key_(key) {}
  /// Moves the pool handle, the job and the key; only before co_await.
  pool_submit(pool_submit&& other) noexcept
      : pool_(std::move(other.pool_)), job_(std::move(other.job_)), key_(other.key_) {}
  pool_submit& operator=(pool_submit&&) = delete;

  /// Submits the job from the task's actor, parking it in submit order when the queue is full
  /// under backpressure. Does not suspend when the pool refuses it (the error is the result).
  template <class Promise>
  bool await_suspend(std::coroutine_handle<Promise> h) {
    return this->send_and_suspend(
        h, [this](::troupe::actor* self,
                  std::unique_ptr<::troupe::actor_reply_sink<reply_type>> sink) {
          return pool_ ? pool_.submit_parking_request(self->context(), std::move(job_),
                                                      std::move(sink), key_)
                       : make_error(mailbox_errc::receiver_dead);
        });
  }

private:
  worker_pool<Job> pool_;
  Job job_;
  uint64_t key_;
};

/// Submits `job` to `pool` from the awaiting task's actor and yields its answer as
/// caf::expected<reply_t<Job>>, with flow control: when the pool's queue is full under
/// backpressure the job is parked (in submit order, behind the other parked jobs) instead of
/// refused, and enters the queue as soon as a worker makes room. `key` picks the worker under
/// key_affinity dispatch.
///
/// One step, not two: the task waits for the answer, which can only come after the job found
/// room, so a separate wait for room would add a resumption without letting the task do
/// anything meanwhile. A task that wants several jobs in flight awaits them together
/// (coro::gather over a std::vector of submits); they park in order when the queue is full.
/// (For a bound on how many jobs one actor keeps parked, use the callback form,
/// worker_pool::submit(self, job, on_value, on_error, on_queued).)
///
/// Example:
///
///   troupe::task<void> digest(troupe::worker_pool<checksum> pool, std::string path) {
///     checksum job{path};
///     caf::expected<uint32_t> sum = co_await troupe::coro::submit(pool, job);
///     if (!sum) { /* sum.error(): handler_threw, cancelled, shutting_down, ... */ }
///   }
///
/// Errors: mailbox_errc::handler_threw (the worker crashed on it and retries ran out),
/// mailbox_full (overflow policy fail, drop_newest, or dropped for a newer job under
/// drop_oldest), runtime_errc::shutting_down (submitted after shutdown began),
/// runtime_errc::cancelled (accepted or parked, then the pool stopped before running it).
///
/// Stopping: a task destroyed while its job is parked or running resumes nothing later; the
/// job still runs, and its answer is dropped and counted (coroutine_host::late_replies()) or,
/// once the actor stopped, a dead letter, as for worker_pool::submit(self, job).
///
/// Thread safety: co_await only inside a troupe::task; the task resumes on its own actor.
template <class Job>
[[nodiscard]] pool_submit<Job> submit(const worker_pool<Job>& pool, Job job, uint64_t key = 0) {
  return {pool, std::move(job), key};
}

} // namespace troupe::coro
