#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <caf/expected.hpp>
#include <caf/message.hpp>
#include <nlohmann/json.hpp>

#include "troupe/actors/pending.hpp"
#include "troupe/core/actor_reply_sink.hpp"
#include "troupe/core/reply_sink.hpp"
#include "troupe/mailbox/mailbox_errc.hpp"
#include "troupe/runtime/blocking_future.hpp"
#include "troupe/runtime/runtime.hpp"
#include "troupe/scheduler/recycled_blocks.hpp"
#include "troupe/scheduler/result.hpp"
#include "troupe/supervision/detail/pool_core.hpp"
#include "troupe/supervision/detail/pool_worker.hpp"
#include "troupe/supervision/detail/supervision_introspection.hpp"
#include "troupe/supervision/pool_metrics.hpp"
#include "troupe/supervision/pool_options.hpp"
#include "troupe/supervision/supervisor.hpp"

namespace troupe {

/// What worker_pool::shutdown did.
struct pool_shutdown_report {
  /// Every accepted job was finished before the deadline.
  bool drained = false;
  /// Jobs answered with runtime_errc::cancelled instead.
  uint64_t cancelled = 0;
};

namespace detail {

/// One allocation per job: the callbacks live in the sink itself, whose block is recycled (the
/// submitter allocates it, a worker frees it).
template <class R, class OnValue, class OnError>
class pool_callback_sink final : public reply_sink<R>,
                                 public recycled_blocks<pool_callback_sink<R, OnValue, OnError>> {
public:
  pool_callback_sink(OnValue f, OnError g) : on_value_(std::move(f)), on_error_(std::move(g)) {}
  void complete(R value) override { on_value_(std::move(value)); }
  void fail(caf::error err) override { on_error_(std::move(err)); }

private:
  OnValue on_value_;
  OnError on_error_;
};

caf::error admit_error(admission_outcome outcome);

} // namespace detail

/// A supervised pool of workers behind one bounded job queue: the guide's worker pool. Each
/// job is a request — a message type with a `reply_type` — and is answered exactly once: with
/// the handler's result, or with a typed error (the worker crashed on it and retries ran out,
/// the queue was full, the pool stopped). A job may also be posted, with no answer: the pool
/// counts its outcome instead (post).
///
/// Example:
///
///   struct checksum { std::string path; using reply_type = uint32_t; };
///   troupe::pool_options opts;
///   opts.workers = 4;
///   auto pool = troupe::spawn_pool<checksum>(rt, opts, [](std::size_t /*worker*/) {
///     return [](checksum& job) { return crc32_of(job.path); };   // state per worker
///   }).value();
///   troupe::result<uint32_t> sum = pool.submit(checksum{"a.bin"});   // from a thread
///   pool.submit(self, checksum{"b.bin"}).then([](uint32_t) {}, [](caf::error) {}); // actor
///   (void)pool.post(checksum{"c.bin"});   // no answer: counted in pool.metrics()
///   pool.resize(8);
///   auto report = pool.shutdown(std::chrono::seconds{5});   // drains, then stops
///
/// Errors: mailbox_errc::mailbox_full (queue full: fail policy, a dropped job, an actor under
/// backpressure, a thread whose wait ran out), mailbox_errc::handler_threw (crash, retries
/// exhausted; the exception's message), runtime_errc::shutting_down (submit after shutdown
/// began), runtime_errc::cancelled (accepted, then the pool stopped before running it),
/// mailbox_errc::request_timeout (a blocking submit's wait for the result ran out).
///
/// Thread safety: submit() from any thread; submit(self, ...) only from inside `self`'s
/// handlers (a Troupe actor); resize() and shutdown() from threads outside actors (they wait
/// for the pool's supervisor). Copies share the pool.
template <class Job>
class worker_pool {
public:
  /// What a job's handler answers (reply_t<Job>).
  using reply_type = reply_t<Job>;
  /// Internal: the shared queue state behind the pool.
  using core_type = detail::pool_core<Job>;

  /// How long a thread's submit may wait for room under backpressure, and the job's key for
  /// key_affinity dispatch.
  struct submit_options {
    /// The job's key; only key_affinity dispatch uses it.
    uint64_t key = 0;
    /// The longest wait for room under backpressure. Default 30 s.
    std::chrono::milliseconds wait_for_room{30'000};
  };

  /// An empty handle (operator bool is false); spawn_pool makes real ones. It reaches no pool:
  /// a submit or post through it fails with mailbox_errc::receiver_dead (as a send to a
  /// mailbox handle that reaches no actor), resize() too; metrics() are zeros and shutdown()
  /// has nothing to do.
  worker_pool() = default;

  /// False for an empty (default-constructed) handle.
  [[nodiscard]] explicit operator bool() const noexcept { return state_ != nullptr; }

  /// Submits from a thread and waits for the answer. `timeout` bounds the whole call: the wait
  /// for room under backpressure and the wait for the answer share it.
  [[nodiscard]] troupe::result<reply_type>
  submit(Job job, std::chrono::milliseconds timeout = std::chrono::seconds{30},
         uint64_t key = 0) const {
    if (!state_)
      return no_pool();
    auto deadline = std::chrono::steady_clock::now() + timeout;
    using result_slot = typename blocking_future<reply_type>::shared_state;
    auto st = std::make_shared<result_slot>();
    // The wait for room ends at the same deadline as the wait for the answer.
    auto err = submit_until(
        std::move(job), [st](reply_type value) { st->set(std::move(value)); },
        [st](caf::error e) { st->set(std::move(e)); }, key, deadline);
    if (err)
      return err;
    std::unique_lock guard{st->mtx};
    if (!st->done.wait_until(guard, deadline, [&] { return st->result.has_value(); }))
      return make_error(mailbox_errc::request_timeout);
    return std::move(*st->result);
  }

  /// Submits from a thread; exactly one of the callbacks runs later, on the worker's thread,
  /// when the job is answered. Returns the error (and runs neither) when the job is not
  /// accepted. Under backpressure waits up to `opts.wait_for_room` for room.
  template <class OnValue, class OnError>
  caf::error submit_async(Job job, OnValue on_value, OnError on_error,
                          submit_options opts = {}) const {
    return submit_until(std::move(job), std::move(on_value), std::move(on_error), opts.key,
                        std::chrono::steady_clock::now() + opts.wait_for_room);
  }

  /// Submits from inside a Troupe actor (mailbox_self and friends); the continuation runs on
  /// `self`. Never blocks: a full queue answers mailbox_full at once, even under backpressure.
  template <class Self>
  [[nodiscard]] pending<reply_type> submit(Self* self, Job job, uint64_t key = 0) const {
    if (!state_)
      return failed<reply_type>(no_pool());
    return pending<reply_type>{[core = state_->core, self, job = std::move(job),
                                key](auto on_value, auto on_error) mutable {
      auto id = self->add_request(
          std::make_unique<continuation_of<reply_type>>(std::move(on_value), std::move(on_error)));
      typename core_type::entry e{std::move(job),
                                  std::make_unique<actor_reply_sink<reply_type>>(self, id)};
      auto outcome = core->push(e, key, self->context(), false, {});
      if (outcome != admission_outcome::accepted)
        self->fail_request(id, detail::admit_error(outcome));
    }};
  }

  /// Whether a job of an actor entered the queue at once or waits for room.
  enum class submit_status {
    /// In the queue.
    accepted,
    /// Parked under backpressure; `on_queued` runs on the actor when it enters the queue.
    parked,
  };

  /// Submits from inside a Troupe actor with flow control: the actor's Tokio-style
  /// `send().await`. Under backpressure a full queue parks the job (jobs stay in submit order).
  /// The answer runs `on_value` or `on_error` on `self`.
  ///
  /// The rule for `on_queued`: it runs exactly once for every accepted job (accepted or
  /// parked), on `self`, after this call returned, once the job is in the pool's queue: as the
  /// next message when there was room, when a worker made room when it was parked. It never runs
  /// for a refused job (an error result). A submitter that submits its next job from on_queued
  /// never has more than one job parked:
  ///
  ///   void feed(Self* self, uint64_t i) {
  ///     if (i < n)
  ///       (void)pool.submit(self, job{i}, on_value, on_error, [=] { feed(self, i + 1); });
  ///   }
  ///
  /// The status says which case happened (accepted at once, or parked).
  ///
  /// With an empty `on_queued` nothing runs later and a full queue refuses the job
  /// (`mailbox_full`, neither callback runs), as Tokio's `try_send`. A submitter may loop so
  /// while there is room and resubmit the refused job with `on_queued`, which parks it and
  /// resumes the loop: one message turn per full queue instead of one per job (bench/troupe's
  /// worker_pool feeds so).
  ///
  /// Errors: as submit_async (not shutting_down under backpressure: the job parks).
  template <class Self, class OnValue, class OnError>
  troupe::result<submit_status> submit(Self* self, Job job, OnValue on_value, OnError on_error,
                                       std::function<void()> on_queued, uint64_t key = 0) const {
    return submit_parking(self,
                          typename core_type::entry{
                              std::move(job), std::make_unique<inline_reply<reply_type>>(
                                                  self, std::move(on_value), std::move(on_error))},
                          std::move(on_queued), key);
  }

  /// As submit(self, ...) with flow control, but the answer runs `on_value` or `on_error` on
  /// the worker's thread, right after the job (no message back to `self`): for answers that
  /// only update thread-safe state, such as counters.
  template <class Self, class OnValue, class OnError>
  troupe::result<submit_status> submit_async(Self* self, Job job, OnValue on_value,
                                             OnError on_error, std::function<void()> on_queued,
                                             uint64_t key = 0) const {
    return submit_parking(
        self,
        typename core_type::entry{
            std::move(job),
            std::make_unique<detail::pool_callback_sink<reply_type, OnValue, OnError>>(
                std::move(on_value), std::move(on_error))},
        std::move(on_queued), key);
  }

  /// Queues `job` with no answer, from a thread: fire and forget, as Tokio's `tx.send(job)` to
  /// a pool of worker tasks. Under backpressure waits up to `opts.wait_for_room` for room.
  /// Returns the error (as submit_async's) when the job was not accepted.
  ///
  /// Nobody waits for a posted job, so the pool counts what would have been its answer rather
  /// than dropping it silently: a result in metrics().completed; an error (the handler's, or
  /// its crashes with no retries left) in metrics().failed and as a pool.job_failed event; a
  /// job the pool stopped before it ran in metrics().cancelled and as pool.job_cancelled. To
  /// wait until posted jobs are done, shut the pool down (it drains first).
  ///
  ///   for (auto& path : paths)
  ///     if (auto err = pool.post(checksum{path}))
  ///       log(err);
  caf::error post(Job job, submit_options opts = {}) const {
    if (!state_)
      return no_pool();
    typename core_type::entry e{std::move(job), nullptr};
    return detail::admit_error(state_->core->push(
        e, opts.key, nullptr, true, std::chrono::steady_clock::now() + opts.wait_for_room));
  }

  /// Queues `job` with no answer from inside a Troupe actor, with the flow control of
  /// submit(self, ..., on_queued): under backpressure the job parks, and `on_queued` runs on
  /// `self` once it is in the queue; with an empty `on_queued` a full queue refuses it
  /// (`mailbox_full`). What becomes of a posted job's answer: see post(Job, ...).
  template <class Self>
  troupe::result<submit_status> post(Self* self, Job job, std::function<void()> on_queued,
                                     uint64_t key = 0) const {
    return submit_parking(self, typename core_type::entry{std::move(job), nullptr},
                          std::move(on_queued), key);
  }

  /// Internal (troupe::coro::submit): queues `job` from inside a Troupe actor, its answer going
  /// to `reply`. Under backpressure a full queue parks the job, in submit order, instead of
  /// refusing it; nothing is told when it enters the queue (the answer is what the submitter
  /// waits for). Returns the error, with `reply` destroyed unanswered, when the job was refused.
  /// Thread safety: only from inside the actor running on `ctx`.
  caf::error submit_parking_request(caf::execution_unit* ctx, Job job,
                                    std::unique_ptr<reply_sink<reply_type>> reply,
                                    uint64_t key = 0) const {
    if (!state_)
      return no_pool();
    typename core_type::entry e{std::move(job), std::move(reply)};
    std::function<void()> no_notice;
    return detail::admit_error(state_->core->push(e, key, ctx, false, {}, &no_notice));
  }

private:
  template <class OnValue, class OnError>
  caf::error submit_until(Job job, OnValue on_value, OnError on_error, uint64_t key,
                          std::chrono::steady_clock::time_point room_deadline) const {
    if (!state_)
      return no_pool();
    typename core_type::entry e{
        std::move(job), std::make_unique<detail::pool_callback_sink<reply_type, OnValue, OnError>>(
                            std::move(on_value), std::move(on_error))};
    return detail::admit_error(state_->core->push(e, key, nullptr, true, room_deadline));
  }

  // Runs `f` on `self` as its next message (after the current handler returns), so that a
  // submitter continuing from on_queued never recurses.
  template <class Self>
  static void run_on(Self* self, std::function<void()> f) {
    auto response_id = self->new_request_id(caf::message_priority::normal).response_id();
    self->add_multiplexed_response_handler(response_id, caf::behavior{[f = std::move(f)] { f(); }});
    caf::actor_cast<caf::strong_actor_ptr>(self)->enqueue(nullptr, response_id, caf::make_message(),
                                                          self->context());
  }

  template <class Self>
  caf::expected<submit_status> submit_parking(Self* self, typename core_type::entry e,
                                              std::function<void()> on_queued, uint64_t key) const {
    if (!state_)
      return no_pool();
    if (on_queued) {
      // The common case first: room in the queue, and nothing to set up for a wake-up later.
      auto first = state_->core->push(e, key, self->context(), false, {}, nullptr, true);
      if (first == admission_outcome::accepted) {
        run_on(self, std::move(on_queued));
        return submit_status::accepted;
      }
      if (first != admission_outcome::full)
        return detail::admit_error(first);
      // Full: park. The worker that makes room sends `self` a message that runs on_queued.
      auto response_id = self->new_request_id(caf::message_priority::normal).response_id();
      std::function<void()> notify = [sender = caf::actor_cast<caf::strong_actor_ptr>(self),
                                      response_id] {
        sender->enqueue(nullptr, response_id, caf::make_message(), nullptr);
      };
      auto outcome = state_->core->push(e, key, self->context(), false, {}, &notify);
      if (outcome == admission_outcome::parked) {
        // Registered before this handler returns, so before the message can arrive.
        self->add_multiplexed_response_handler(response_id,
                                               caf::behavior{[f = std::move(on_queued)] { f(); }});
        return submit_status::parked;
      }
      if (auto err = detail::admit_error(outcome))
        return err;
      run_on(self, std::move(on_queued)); // room appeared meanwhile: queued at once
      return submit_status::accepted;
    }
    if (auto err = detail::admit_error(state_->core->push(e, key, self->context(), false, {})))
      return err;
    return submit_status::accepted;
  }

public:
  /// Grows or shrinks the pool to `n` workers (1..256). New workers start at once; a retiring
  /// worker finishes the job it runs, hands its queued jobs to the others, and stops.
  /// Errors: config_errc::out_of_range; the supervisor's errors.
  caf::error resize(std::size_t n) const {
    if (n == 0 || n > pool_options::max_workers)
      return make_error(config_errc::out_of_range, std::string{"workers"}, std::to_string(n));
    if (!state_)
      return no_pool();
    std::lock_guard guard{state_->resize_mtx};
    auto& core = *state_->core;
    auto old = core.active();
    core.set_active(n);
    for (auto slot = old; slot < n; ++slot)
      if (auto err = start_worker(slot))
        return err;
    if (n < old &&
        !core.await_detached(n, old, std::chrono::steady_clock::now() + std::chrono::seconds{30}))
      return make_error(runtime_errc::timeout, std::string{"retiring workers"});
    return caf::none;
  }

  /// A snapshot of the pool's figures. Any thread.
  [[nodiscard]] pool_metrics metrics() const {
    return state_ ? state_->core->metrics() : pool_metrics{};
  }

  /// The pool's supervisor (dynamic strategy; one child per worker).
  /// An empty handle's is an empty supervisor handle.
  [[nodiscard]] const troupe::supervisor& supervisor() const noexcept {
    static const troupe::supervisor none;
    return state_ ? state_->sup : none;
  }

  /// Refuses new jobs (runtime_errc::shutting_down), lets the workers finish what was accepted
  /// until `deadline`, then stops them; what is left is answered with runtime_errc::cancelled.
  pool_shutdown_report shutdown(std::chrono::milliseconds deadline) const {
    if (!state_) {
      pool_shutdown_report nothing_to_do;
      nothing_to_do.drained = true;
      return nothing_to_do;
    }
    auto until = std::chrono::steady_clock::now() + deadline;
    auto& core = *state_->core;
    auto before = core.metrics().cancelled;
    core.close();
    pool_shutdown_report report;
    report.drained = core.await_idle(until);
    auto left = std::max(std::chrono::duration_cast<std::chrono::milliseconds>(
                             until - std::chrono::steady_clock::now()),
                         std::chrono::milliseconds{100});
    (void)state_->sup.stop(left);
    core.cancel_all();
    report.cancelled = core.metrics().cancelled - before;
    return report;
  }

  /// Internal: use spawn_pool.
  template <class Handler>
  static troupe::result<worker_pool> start(runtime& rt, pool_options opts,
                                           std::function<Handler(std::size_t)> make_handler) {
    // Only the worker depends on the handler's type: the rest is compiled once per job type.
    return start_with(rt, std::move(opts),
                      [make_handler](runtime& on, std::shared_ptr<core_type> core,
                                     std::size_t slot) -> started_child {
                        return on.spawn<detail::pool_worker<Job, Handler>>(std::move(core), slot,
                                                                           make_handler);
                      });
  }

private:
  using worker_spawner =
      std::function<started_child(runtime&, std::shared_ptr<core_type>, std::size_t slot)>;

  static troupe::result<worker_pool> start_with(runtime& rt, pool_options opts,
                                                worker_spawner spawn_worker) {
    if (auto err = opts.validate())
      return err;
    if (opts.name.empty())
      opts.name = "pool";
    auto st = std::make_shared<pool_state>();
    st->core = std::make_shared<core_type>(opts, rt.events_ptr());
    child_spec tpl;
    tpl.id = "worker";
    // Transient: a crash restarts the worker; a retiring worker's normal exit does not.
    tpl.restart = restart_type::transient;
    tpl.shutdown = shutdown_policy::infinity(); // a worker finishes its current job
    tpl.start = [core = st->core, spawn_worker](const child_context& ctx) -> started_child {
      auto slot = static_cast<std::size_t>(ctx.args.get_as<uint64_t>(0));
      return spawn_worker(ctx.rt, core, slot);
    };
    supervisor_spec spec;
    spec.name = opts.name;
    spec.strategy = restart_strategy::dynamic;
    spec.intensity = opts.max_restarts;
    spec.period = opts.restart_period;
    spec.children = {std::move(tpl)};
    auto sup = start_supervisor(rt, std::move(spec));
    if (!sup)
      return std::move(sup.error());
    st->sup = std::move(*sup);
    st->rt = &rt;
    detail::declare_pool_families(rt);
    st->topology_token = rt.registry().add_component(
        detail::pools_section, opts.name,
        [weak = std::weak_ptr<core_type>{st->core}, sup_id = st->sup.actor().id()] {
          auto c = weak.lock();
          if (!c)
            return nlohmann::json{};
          nlohmann::json j = c->metrics();
          j["supervisor"] = sup_id;
          j["dispatch"] = to_string(c->options().dispatch);
          return j;
        });
    worker_pool pool;
    pool.state_ = std::move(st);
    for (std::size_t slot = 0; slot < opts.workers; ++slot)
      if (auto err = pool.start_worker(slot)) {
        (void)pool.state_->sup.stop();
        return err;
      }
    return pool;
  }

  // What every call through an empty handle answers.
  static caf::error no_pool() {
    return make_error(mailbox_errc::receiver_dead, std::string{"an empty worker_pool handle"});
  }

  struct pool_state {
    std::shared_ptr<core_type> core;
    troupe::supervisor sup;
    std::mutex resize_mtx;
    runtime* rt = nullptr;
    uint64_t topology_token = 0;

    pool_state() = default;
    pool_state(const pool_state&) = delete;
    pool_state& operator=(const pool_state&) = delete;
    ~pool_state() {
      if (rt != nullptr)
        rt->registry().remove_component(topology_token);
    }
  };

  caf::error start_worker(std::size_t slot) const {
    auto child = state_->sup.start_child(caf::make_message(static_cast<uint64_t>(slot)));
    return child ? caf::error{} : std::move(child.error());
  }

  std::shared_ptr<pool_state> state_;
};

/// Starts a pool of opts.workers workers for jobs of type Job under its own supervisor.
/// `make_handler(worker_index)` runs on each worker when it starts (again after a crash) and
/// returns its handler: a callable taking Job& and returning Job::reply_type (or
/// caf::expected of it).
///
/// Errors: config_errc naming the bad option; the supervisor's start errors.
/// Thread safety: any thread outside actors.
template <class Job, class F>
troupe::result<worker_pool<Job>> spawn_pool(runtime& rt, pool_options opts, F make_handler) {
  using handler_type = std::invoke_result_t<F&, std::size_t>;
  static_assert(std::is_invocable_v<handler_type&, Job&>,
                "the handler must accept the pool's job type");
  return worker_pool<Job>::template start<handler_type>(
      rt, std::move(opts), std::function<handler_type(std::size_t)>{std::move(make_handler)});
}

} // namespace troupe
