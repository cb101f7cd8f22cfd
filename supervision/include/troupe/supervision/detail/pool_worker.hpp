#pragma once

#include <atomic>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include <caf/detail/type_traits.hpp>

#include "troupe/core/actor.hpp"
#include "troupe/core/reply_sink.hpp"
#include "troupe/mailbox/coroutine_host.hpp"
#include "troupe/mailbox/mailbox_errc.hpp"
#include "troupe/supervision/detail/pool_core.hpp"

namespace troupe::detail {

/// One worker of a pool: a Troupe queue actor whose queue is the pool's (its own slot's queue
/// first, then the shared one). It takes a few jobs at a time, runs each through its handler
/// and answers it. A handler that throws crashes the worker: the job is put back for a retry
/// or answered with handler_threw, the jobs it had taken but not started go back to the front
/// of the queue, and the pool's supervisor restarts the worker.
///
/// Everything but running a job depends on the job type alone: it is compiled once per job
/// type, not once per handler (every lambda given to worker_pool::start is a type of its own).
/// pool_worker<Job, Handler> adds the handler.
template <class Job>
class pool_worker_base : public troupe::actor {
public:
  using core_type = pool_core<Job>;
  using entry = typename core_type::entry;
  using reply_type = reply_t<Job>;

  pool_worker_base(caf::actor_config& cfg, std::shared_ptr<core_type> core, std::size_t slot)
      : troupe::actor(cfg), core_(std::move(core)), shared_core_(core_.get()), slot_(slot),
        name_(core_->options().name + ".worker" + std::to_string(slot)),
        coroutines_(this, [](troupe::actor* self, caf::error reason) {
          static_cast<pool_worker_base*>(self)->stop(std::move(reason));
        }) {}

  const char* name() const override { return name_.c_str(); }

  /// What runtime::spawn registers it as in the topology.
  static constexpr std::string_view topology_kind = "worker";

  resume_result resume(caf::execution_unit* ctx, size_t max_throughput) override {
    // Holds the core for the whole resume: after blocking its inbox, troupe::actor looks at the
    // queue again (queue_empty, queue_anchor) while this actor may already have terminated on
    // another worker and dropped core_ in on_exit.
    auto keep = core_;
    return troupe::actor::resume(ctx, max_throughput);
  }

protected:
  /// Runs one job taken from the queue and answers it (or crashes the worker).
  virtual void run(entry& e) = 0;

  /// Lets go of the handler (at the worker's end, after the core).
  virtual void drop_handler() noexcept = 0;

  caf::behavior start_taking_jobs() {
    core_->attach(slot_, this);
    return initialize_actor();
  }

  void drain_queue(size_t max) override {
    core_->running(slot_);
    bool ran_out = drain_batch(max);
    batched_.store(batch_.size(), std::memory_order_relaxed);
    waiting_flag_.store(waiting_, std::memory_order_relaxed);
    ran_out_.store(ran_out, std::memory_order_relaxed);
    // A worker that ran out of throughput runs again (queue_empty() says there is more), and
    // one that waits for its job's outcome takes no job until it comes (done_waiting() sets
    // the hint then): neither needs a wake-up, so both leave the hint clear and submitters
    // wake another worker. Otherwise the hint goes up before troupe::actor blocks the inbox
    // and issues its barrier (see pool_core::may_idle).
    if (!ran_out && !waiting_)
      core_->may_idle(slot_);
  }

  // Runs up to `max` jobs; returns whether it stopped only because it ran `max` of them.
  bool drain_batch(size_t max) {
    size_t ran = 0;
    for (; ran < max && !stopping_ && !waiting_; ++ran) {
      if (core_->retiring(slot_)) {
        retire();
        return false;
      }
      if (batch_.empty()) {
        auto taken = core_->take(slot_, batch_, std::min<size_t>(max - ran, 16), context());
        if (taken == 0)
          return false;
      }
      auto e = std::move(batch_.front());
      batch_.pop_front();
      core_->started(slot_);
      run(e);
    }
    return ran > 0 && ran == max && !stopping_ && !waiting_;
  }

  [[nodiscard]] bool queue_empty() const noexcept override {
    // Called after the inbox is blocked too (see troupe::actor): only atomics and the core.
    // While a job runs on the blocking pool, only its completion (a CAF response) wakes us.
    // A turn that ran out of throughput set no idle hint: the worker must not block after it.
    if (ran_out_.load(std::memory_order_relaxed))
      return false;
    return waiting_flag_.load(std::memory_order_relaxed) ||
           (batched_.load(std::memory_order_relaxed) == 0 && shared_core_->empty_for(slot_) &&
            !shared_core_->retiring(slot_));
  }

  std::atomic<uint64_t>& queue_anchor() noexcept override { return shared_core_->anchor(); }

  void on_exit() override {
    // Stopped from outside (the pool or its supervisor stops) rather than crashed or retired:
    // the pool closes, and its last worker answers what is left.
    bool pool_stopping = !crashed_ && !retired_;
    // A coroutine job still suspended: its frame goes first (its RAII may use the worker).
    coroutines_.destroy_all();
    if (blocking_job_) {
      // Stopped while its job ran on the blocking pool: the result would reach nobody.
      core_->finished(slot_, *blocking_job_, false);
      if (blocking_job_->reply)
        fail_reply(blocking_job_->reply,
                   make_error(runtime_errc::cancelled, std::string{"the worker stopped"}));
      core_->publish_cancelled(1, "the worker stopped while the job ran");
    }
    blocking_job_.reset();
    core_->give_back(slot_, batch_);
    if (core_->detach(slot_, this, pool_stopping))
      core_->cancel_all();
    core_.reset(); // breaks the core -> slot owner -> worker -> core cycle
    drop_handler();
    troupe::actor::on_exit();
  }

  template <class Result>
  void answer(entry& e, Result&& result) {
    if constexpr (caf::detail::is_expected<std::decay_t<Result>>::value) {
      if (!e.reply && !result) {
        // A posted job has nobody to tell of its error: counted and published instead.
        core_->finished(slot_, e, false);
        core_->publish_failed(e, result.error());
        return;
      }
      core_->finished(slot_, e, true);
      if (!e.reply)
        return;
      if (result)
        complete_reply<reply_type>(e.reply, reply_type(std::move(*result)));
      else
        fail_reply(e.reply, std::move(result.error()));
    } else {
      core_->finished(slot_, e, true);
      if (e.reply) // a posted job's result goes nowhere
        complete_reply<reply_type>(e.reply, reply_type(std::forward<Result>(result)));
    }
  }

  // A job that ends with an error its handler did not give (a crash with no retries left, the
  // blocking pool's refusal): its requester is told, or, for a posted job, the pool's events.
  void fail_job(entry& e, caf::error reason) {
    core_->finished(slot_, e, false);
    if (e.reply)
      fail_reply(e.reply, std::move(reason));
    else
      core_->publish_failed(e, reason);
  }

  // The worker waits for a job that runs elsewhere (on the blocking pool, or a coroutine):
  // it takes no other job until that one's outcome arrives here as a message.
  void wait_for(std::shared_ptr<entry> job) {
    waiting_ = true;
    blocking_job_ = std::move(job);
  }

  void done_waiting() {
    waiting_ = false;
    waiting_flag_.store(false, std::memory_order_relaxed);
    blocking_job_.reset();
    // The worker takes jobs again: from here on it may go idle (its turn while waiting set no
    // hint). On this actor, before troupe::actor's barrier and last look at the queues.
    if (core_)
      core_->may_idle(slot_);
  }

  void crash(entry e, const char* what) {
    auto reason = make_error(mailbox_errc::handler_threw, std::string{what});
    if (e.attempts < core_->options().max_retries) {
      ++e.attempts;
      core_->count_retry(e.attempts, reason);
      core_->released(slot_);
      batch_.push_front(std::move(e));
    } else {
      fail_job(e, reason);
    }
    crashed_ = true;
    core_->give_back(slot_, batch_);
    stop(std::move(reason));
  }

  /// Runs `f` (the handler's part of a job); if it throws, crashes the worker with the
  /// exception's message for `e` and returns false.
  template <class F>
  bool crash_if_throws(entry& e, F&& f) {
    try {
      std::forward<F>(f)();
      return true;
    } catch (const std::exception& ex) {
      crash(std::move(e), ex.what());
    } catch (...) {
      crash(std::move(e), "unknown exception");
    }
    return false;
  }

  const core_type& core() const noexcept { return *shared_core_; }

  std::size_t slot() const noexcept { return slot_; }

  coroutine_host& coroutines() noexcept { return coroutines_; }

private:
  void retire() {
    retired_ = true;
    core_->give_back(slot_, batch_);
    core_->hand_over(slot_);
    stop(caf::exit_reason::normal);
  }

  void stop(caf::error reason) { quit(std::move(reason)); }

  std::shared_ptr<core_type> core_;
  // The same core, never reset: what queue_empty() and queue_anchor() read (see resume()).
  core_type* const shared_core_;
  std::size_t slot_;
  std::string name_;
  std::shared_ptr<entry> blocking_job_;
  std::deque<entry> batch_;
  bool waiting_ = false;
  // Mirrors of waiting_, batch_.size() and whether the last turn ran out of throughput, for
  // queue_empty(), which may run on another thread.
  std::atomic<bool> waiting_flag_{false};
  std::atomic<std::size_t> batched_{0};
  std::atomic<bool> ran_out_{false};
  bool crashed_ = false;
  bool retired_ = false;
  coroutine_host coroutines_; // the coroutine job running on this worker, if any
};

/// A pool worker with its handler. A handler may be a coroutine (it returns a troupe::task):
/// the worker then takes no other job until that task finished, so each worker still runs one
/// job at a time.
template <class Job, class Handler>
class pool_worker final : public pool_worker_base<Job> {
public:
  using base = pool_worker_base<Job>;
  using typename base::core_type;
  using typename base::entry;
  using typename base::reply_type;
  using factory = std::function<Handler(std::size_t slot)>;

  pool_worker(caf::actor_config& cfg, std::shared_ptr<core_type> core, std::size_t slot,
              factory make_handler)
      : base(cfg, std::move(core), slot), make_handler_(std::move(make_handler)) {}

  caf::behavior make_behavior() override {
    // A fresh handler (and its state) for every start, as an OTP worker's init.
    handler_ = std::make_shared<Handler>(make_handler_(this->slot()));
    return this->start_taking_jobs();
  }

protected:
  void run(entry& e) override {
    trace_scope traced{e.trace};
    if constexpr (coroutine_handler) {
      // Runs on the worker: a coroutine awaits blocking work itself (coro::spawn_blocking), so
      // run_on_blocking_pool does not apply to it.
      run_async(std::move(e));
    } else {
      if (this->core().options().run_on_blocking_pool) {
        run_blocking(std::move(e));
        return;
      }
      this->crash_if_throws(e, [&] { this->answer(e, (*handler_)(e.job)); });
    }
  }

  void drop_handler() noexcept override { handler_.reset(); }

private:
  static constexpr bool coroutine_handler = requires {
    typename std::invoke_result_t<Handler&, Job&>::async_handler_tag;
  };

  // The job runs on a blocking-pool thread; this worker waits (holding no scheduler worker)
  // for the completion, which comes back as a CAF response and runs here.
  void run_blocking(entry e) requires(!coroutine_handler) {
    struct outcome {
      std::optional<std::invoke_result_t<Handler&, Job&>> value;
      std::string crash;
    };
    auto job = std::make_shared<entry>(std::move(e));
    auto out = std::make_shared<outcome>();
    // Shared: the job may outlive this worker when it is stopped while the job runs.
    auto handler = handler_;
    this->wait_for(job);
    troupe::spawn_blocking(this,
                           [handler, job, out] {
                             try {
                               out->value.emplace((*handler)(job->job));
                             } catch (const std::exception& ex) {
                               out->crash = ex.what();
                             } catch (...) {
                               out->crash = "unknown exception";
                             }
                           })
        .then(
            [this, job, out] {
              this->done_waiting();
              if (out->value)
                this->answer(*job, std::move(*out->value));
              else
                this->crash(std::move(*job), out->crash.c_str());
            },
            [this, job](caf::error& err) {
              // The blocking pool refused or cancelled the job: not the handler's fault.
              this->done_waiting();
              this->fail_job(*job, std::move(err));
            });
  }

  // The handler is a coroutine: the worker waits for it like for a blocking job, and the
  // outcome arrives on this actor (start_async_job is found next to troupe::task).
  void run_async(entry e) {
    auto job = std::make_shared<entry>(std::move(e));
    // Making the task may throw already (copying the job into the frame, a handler that throws
    // before it returns a task): the same crash as a throwing plain handler.
    std::optional<std::invoke_result_t<Handler&, Job&>> job_task;
    if (!this->crash_if_throws(*job, [&] { job_task.emplace((*handler_)(job->job)); }))
      return;
    this->wait_for(job);
    start_async_job<reply_type>(
        std::move(*job_task), this->coroutines(),
        [this, job](caf::expected<reply_type> outcome, std::optional<std::string> threw) {
          this->done_waiting();
          if (threw)
            this->crash(std::move(*job), threw->c_str());
          else
            this->answer(*job, std::move(outcome));
        });
  }

  factory make_handler_;
  std::shared_ptr<Handler> handler_;
};

} // namespace troupe::detail
