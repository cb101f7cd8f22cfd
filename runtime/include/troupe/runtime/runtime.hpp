#pragma once

#include <atomic>
#include <chrono>
#include <concepts>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/detail/pretty_type_name.hpp>
#include <caf/expected.hpp>

#include "troupe/scheduler/result.hpp"
#include <caf/make_message.hpp>
#include <caf/spawn_options.hpp>

#include "troupe/introspection/admin_endpoint.hpp"
#include "troupe/introspection/event_stream.hpp"
#include "troupe/introspection/metric_registry.hpp"
#include "troupe/introspection/named_registry.hpp"
#include "troupe/introspection/topology_registry.hpp"
#include "troupe/runtime/blocking_future.hpp"
#include "troupe/runtime/dead_letter_office.hpp"
#include "troupe/runtime/detail/actor_tracker.hpp"
#include "troupe/runtime/detail/blocking_job.hpp"
#include "troupe/runtime/detail/blocking_pool.hpp"
#include "troupe/runtime/exit_listener.hpp"
#include "troupe/runtime/runtime_config.hpp"
#include "troupe/runtime/runtime_metrics.hpp"
#include "troupe/scheduler/errors.hpp"
#include "troupe/scheduler/scheduler_metrics.hpp"
#include "troupe/scheduler/work_stealing.hpp"

namespace troupe {

/// What a graceful shutdown did.
struct shutdown_report {
  /// An actor that shutdown had to kill.
  struct forced_actor {
    caf::actor_id id = 0; ///< The actor's CAF id.
    std::string name;     ///< Its name when the list was taken; empty if it ended meanwhile.
  };
  /// Actors that were still running at the deadline and were killed.
  std::vector<forced_actor> forced;
  /// Blocking jobs still running at the deadline; their threads were detached.
  std::size_t abandoned_blocking_jobs = 0;

  /// True when nothing had to be killed or abandoned.
  [[nodiscard]] bool clean() const noexcept {
    return forced.empty() && abandoned_blocking_jobs == 0;
  }
};

/// Owns a CAF actor system, its scheduler and a pool of threads for blocking work.
///
/// Example:
///
///   troupe::runtime_config cfg;
///   cfg.workers = 2;
///   troupe::runtime rt{cfg};
///   auto adder = rt.spawn([]() -> caf::behavior { return {[](int x) { return x + 1; }}; });
///   auto size = rt.spawn_blocking([] { return std::filesystem::file_size("big.bin"); });
///   auto report = rt.shutdown(std::chrono::seconds{2});   // or let the destructor do it
///
/// Errors: the constructor throws std::invalid_argument naming the bad option when the
/// configuration does not validate (e.g. an admin address that is not a dotted IPv4 address),
/// and std::runtime_error when the admin endpoint cannot listen (its port is in use).
/// runtime::create() never throws those: it returns config_errc (the option and the value; also
/// conflicting_options naming handle_signals when another runtime of the process handles
/// signals), runtime_errc::admin_unavailable ("address:port: reason"), or runtime_errc::io_failed
/// when the process is out of descriptors or threads. Prefer create() in programs that take their
/// options from users.
///
/// Thread safety: every member function may be called from any thread, except that the
/// destructor must not run concurrently with other calls.
class runtime {
public:
  /// Called with CAF's configuration before the actor system starts, e.g. to announce message
  /// types or load the middleman.
  using caf_customizer = std::function<void(caf::actor_system_config&)>;

  /// Validates `cfg`, lets `customize` adjust CAF's configuration and starts the actor system.
  /// Throws std::invalid_argument when `cfg` does not validate or another runtime already
  /// handles signals, std::runtime_error when the admin endpoint cannot listen.
  explicit runtime(runtime_config cfg = {}, caf_customizer customize = {});
  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  /// Shuts down gracefully (with config().shutdown_timeout) if that did not happen yet.
  ~runtime();

  /// Validates `cfg` first and returns the typed error instead of throwing.
  [[nodiscard]] static troupe::result<std::unique_ptr<runtime>>
  create(runtime_config cfg, caf_customizer customize = {});

  // -- access --------------------------------------------------------------------------------

  /// The CAF actor system the runtime owns.
  [[nodiscard]] caf::actor_system& system() noexcept { return *system_; }
  /// The configuration the runtime was started with.
  [[nodiscard]] const runtime_config& config() const noexcept { return cfg_; }
  /// A snapshot of workers, the blocking pool, live actors, dead letters and uptime.
  [[nodiscard]] runtime_metrics metrics() const;

  /// Per-worker scheduler figures (resumes, steals, parks, queue depths) and watchdog reports.
  [[nodiscard]] scheduler_metrics scheduler_stats() const;

  /// Called (on the watchdog's thread) for each handler that held a worker longer than
  /// config().blocked_threshold. The report is also counted and logged to stderr.
  void on_blocked_worker(std::function<void(const blocked_worker_report&)> hook);

  // -- named objects ---------------------------------------------------------------------------

  /// Objects that components share by name across this runtime, typed (see named_registry).
  /// Thread safety: any thread.
  [[nodiscard]] named_registry& named() noexcept { return named_; }
  /// Objects that components share by name across this runtime, typed (see named_registry).
  [[nodiscard]] const named_registry& named() const noexcept { return named_; }

  /// Where messages that reached no handler are counted; see dead_letter_office.
  [[nodiscard]] const std::shared_ptr<dead_letter_office>& dead_letters() const noexcept {
    return dead_letters_;
  }

  /// The runtime's lifecycle events (actors spawned and exited, restarts, dead letters, blocked
  /// workers, ...; docs/events.md lists them): subscribe a sink, or publish your own.
  ///
  ///   auto sub = rt.events().subscribe([](const troupe::event& e) { log(troupe::to_text(e)); },
  ///                                    troupe::event_level::warning);
  ///
  /// Thread safety: any thread; the stream lives as long as the runtime.
  [[nodiscard]] event_stream& events() noexcept { return *events_; }

  /// The event stream as a shared pointer, for objects that may outlive the runtime (pools
  /// and topics publish on it; the dead letter office keeps it).
  [[nodiscard]] const std::shared_ptr<event_stream>& events_ptr() const noexcept { return events_; }

  /// The runtime that owns `sys`, or nullptr when `sys` is not owned by a troupe::runtime.
  [[nodiscard]] static runtime* of(caf::actor_system& sys) noexcept;

  // -- spawning --------------------------------------------------------------------------------

  /// Spawns a function-based actor, as caf::actor_system::spawn, and tracks it for shutdown.
  template <caf::spawn_options Os = caf::no_spawn_options, class F, class... Ts>
  auto spawn(F fun, Ts&&... xs) {
    auto handle = system_->spawn<Os>(std::move(fun), std::forward<Ts>(xs)...);
    work_stealing::forget_thread_logger(); // see there: the spawn installed a silent logger
    tracker_.track(caf::actor_cast<caf::strong_actor_ptr>(handle));
    return handle;
  }

  /// Spawns a class-based actor, as caf::actor_system::spawn<Impl>, and tracks it for shutdown.
  /// It is registered in the topology in the same step, with `Impl::topology_shape` (a static
  /// topology_registry::profile: kind, live figures, ...) when Impl declares one, else with the
  /// kind `Impl::topology_kind` (a std::string_view of static storage), else with its type's
  /// name, unless it describes itself.
  template <class Impl, caf::spawn_options Os = caf::no_spawn_options, class... Ts>
  auto spawn(Ts&&... xs) {
    const auto* shape = topology_profile_of<Impl>();
    return spawn_in_system<Impl, Os>(
        [&](const caf::strong_actor_ptr& actor, Impl* not_started) {
          if constexpr (reports_its_exit<Impl>) {
            if (not_started != nullptr) {
              // It cannot end before it knows whom to tell: it has not started.
              tracker_.track(actor, shape, detail::actor_tracker::exit_told_by::actor);
              not_started->report_exit_to(&tracker_);
              return;
            }
          }
          tracker_.track(actor, shape);
        },
        std::forward<Ts>(xs)...);
  }

  /// Tells shutdown that `actor` is owned by another actor that stops it (in its own order,
  /// within its own deadline), so shutdown does not ask it directly: shutdown asks the owner.
  /// An actor that was not spawned through the runtime is adopted: tracked and shown in the
  /// topology like the others.
  /// Thread safety: any thread.
  void mark_owned(const caf::actor& actor) {
    tracker_.adopt(caf::actor_cast<caf::strong_actor_ptr>(actor));
  }

  // -- topology ------------------------------------------------------------------------------

  /// The live system as JSON: runtime figures, the actor trees with their children's rows,
  /// free-standing actors, the sections components list and dead letters. The format is
  /// described in docs/topology.md and docs/topology.schema.json.
  ///
  ///   std::cout << rt.topology().dump(2);
  ///
  /// Thread safety: any thread; reads one consistent snapshot and asks no actor anything.
  [[nodiscard]] nlohmann::json topology() const;

  /// The port the admin endpoint listens on (config().admin_port; 0 picked a free one), or 0
  /// without an endpoint. GET /topology answers topology() as JSON, GET /metrics the
  /// Prometheus text format; other paths 404, other methods 405, malformed requests 400.
  [[nodiscard]] uint16_t admin_port() const noexcept;

  /// Where components describe what they run: their actors, child rows and sections (see
  /// topology_registry and topology()).
  [[nodiscard]] topology_registry& registry() noexcept { return registry_; }

  /// Where Troupe's components declare the metric families they add to GET /metrics
  /// (see metric_family).
  [[nodiscard]] metric_registry& metric_families() noexcept { return metric_families_; }

  // -- blocking work ---------------------------------------------------------------------------

  /// Runs `fn` on the blocking pool and returns a future for callers outside of actors.
  /// Actors use troupe::spawn_blocking(self, fn) instead, which answers as a response.
  template <class F>
  [[nodiscard]] auto spawn_blocking(F fn) -> blocking_future<std::invoke_result_t<F&>> {
    using result = std::invoke_result_t<F&>;
    using future = blocking_future<result>;
    auto st = std::make_shared<typename future::shared_state>();
    auto err = blocking_->submit([st, fn = std::move(fn)](bool cancelled) mutable {
      if (cancelled) {
        st->set(make_error(runtime_errc::cancelled));
        return;
      }
      try {
        if constexpr (std::is_void_v<result>) {
          fn();
          st->set(caf::unit);
        } else {
          st->set(fn());
        }
      } catch (const std::exception& e) {
        st->set(make_error(runtime_errc::job_failed, std::string{e.what()}));
      } catch (...) {
        st->set(make_error(runtime_errc::job_failed, std::string{"unknown exception"}));
      }
    });
    if (err)
      st->set(std::move(err));
    return future{std::move(st)};
  }

  /// The actor that hands blocking jobs of actors to the pool (see troupe::spawn_blocking).
  [[nodiscard]] const caf::actor& blocking_gateway() const noexcept { return gateway_; }

  // -- shutdown --------------------------------------------------------------------------------

  /// Asks every actor spawned through this runtime to stop (exit_reason::user_shutdown), waits
  /// up to `deadline` for them and for running blocking jobs, then kills the actors that are
  /// left and reports them. Queued blocking jobs are answered with runtime_errc::cancelled.
  /// Idempotent: a second call returns an empty report.
  shutdown_report shutdown(std::chrono::milliseconds deadline);
  /// shutdown(config().shutdown_timeout).
  shutdown_report shutdown() { return shutdown(cfg_.shutdown_timeout); }

  /// True once shutdown() has started (also from the destructor or run_until_stopped()).
  [[nodiscard]] bool shutting_down() const noexcept { return stopping_.load(); }

  // -- signals (the guide's ctrl_c) ------------------------------------------------------------

  /// Blocks until SIGINT or SIGTERM arrives (when config().handle_signals is set) or until
  /// request_stop() is called, then shuts down gracefully and returns the report. Returns the
  /// number of the signal that arrived, or 0 for request_stop, in `*signal` when given.
  ///
  /// Example:
  ///
  ///   troupe::runtime_config cfg;
  ///   cfg.handle_signals = true;
  ///   troupe::runtime rt{cfg};
  ///   auto root = troupe::start_supervisor(rt, spec).value();
  ///   auto report = rt.run_until_stopped();   // ctrl-c: the tree stops in order, then returns
  ///
  /// Thread safety: any thread, one caller at a time.
  shutdown_report run_until_stopped(int* signal = nullptr);

  /// Waits up to `timeout` for what run_until_stopped waits for, without shutting down: for a
  /// service that stops its parts in its own order first, or that does periodic work while it
  /// waits. Returns the signal number (0 for request_stop) once a stop was requested, nullopt
  /// when the timeout passed first. A stop, once seen, stays: later calls, and
  /// run_until_stopped(), return at once with the same number (a second ctrl-c is not needed).
  ///
  ///   while (!rt.wait_for_stop(std::chrono::seconds{1}))
  ///     print_progress();
  ///   drain_then_stop();
  ///
  /// Thread safety: any thread, one caller at a time (and not alongside run_until_stopped).
  std::optional<int> wait_for_stop(std::chrono::milliseconds timeout);

  /// Waits, without a timeout, for a stop request or signal and returns its number (0 for
  /// request_stop), without shutting down. Thread safety: as the timed form.
  int wait_for_stop();

  /// Makes run_until_stopped return (and shut down). Thread safety: any thread; also safe to
  /// call before run_until_stopped, which then returns at once.
  void request_stop() noexcept;

  /// Writes topology() to config().topology_file (atomically: write_file_atomically), or to
  /// stderr without one: what SIGUSR1 does. A failed SIGUSR1 dump is logged to stderr
  /// ("troupe: topology dump failed: ...") and counted (topology_dump_failures()).
  ///
  ///   if (auto err = rt.dump_topology()) std::cerr << troupe::render(err) << '\n';
  ///
  /// Errors: runtime_errc::io_failed naming the path, the step and the reason.
  /// Thread safety: any thread.
  [[nodiscard]] caf::error dump_topology() const;

  /// How many SIGUSR1 topology dumps failed. Thread safety: any thread.
  [[nodiscard]] uint64_t topology_dump_failures() const noexcept {
    return topology_dump_failures_.load(std::memory_order_relaxed);
  }

private:
  std::atomic<uint64_t> topology_dump_failures_{0};

  // caf::actor_system::spawn<Impl, Os> without its logger: spawn_impl makes the system's logger
  // the thread's current one (see work_stealing::forget_thread_logger), and the actor's launch
  // then records its id for that logger behind a process-wide spinlock, although the installed
  // CAF never logs. The steps are spawn_impl's: flags, make_actor, launch. With a CAF that
  // logs or profiles, or for options this does not take (detached, blocking, linked,
  // monitored), CAF's own spawn. `track(actor, impl)` registers the actor: before its launch
  // (impl: the actor, not started yet) where the steps are ours, else after CAF's spawn (impl:
  // null).
  template <class Impl, caf::spawn_options Os, class Track, class... Ts>
  auto spawn_in_system(Track&& track, Ts&&... xs) {
#if CAF_LOG_LEVEL == CAF_LOG_LEVEL_QUIET && !defined(CAF_ENABLE_ACTOR_PROFILER)
    constexpr bool plain = caf::is_unbound(Os) && !caf::has_detach_flag(Os) &&
                           !std::is_base_of_v<caf::blocking_actor, Impl>;
#else
    constexpr bool plain = false;
#endif
    if constexpr (plain) {
      caf::actor_config cfg{system_->dummy_execution_unit()};
      if constexpr (caf::has_hide_flag(Os))
        cfg.flags |= caf::abstract_actor::is_hidden_flag;
      auto handle = caf::make_actor<Impl>(system_->next_actor_id(), system_->node(), system_.get(),
                                          cfg, std::forward<Ts>(xs)...);
      auto* actor = static_cast<Impl*>(caf::actor_cast<caf::abstract_actor*>(handle));
      track(caf::actor_cast<caf::strong_actor_ptr>(handle), actor);
      actor->launch(cfg.host, caf::has_lazy_init_flag(Os), caf::has_hide_flag(Os));
      return handle;
    } else {
      auto handle = system_->spawn<Impl, Os>(std::forward<Ts>(xs)...);
      work_stealing::forget_thread_logger();
      track(caf::actor_cast<caf::strong_actor_ptr>(handle), static_cast<Impl*>(nullptr));
      return handle;
    }
  }

  // One profile per actor class, shared by all its nodes in the topology.
  template <class Impl>
  static const topology_registry::profile* topology_profile_of() {
    if constexpr (requires {
                    { &Impl::topology_shape } -> std::same_as<const topology_registry::profile*>;
                  }) {
      return &Impl::topology_shape;
    } else if constexpr (requires { std::string_view{Impl::topology_kind}; }) {
      static constexpr topology_registry::profile shape{.kind = Impl::topology_kind};
      return &shape;
    } else {
      static const std::string name = caf::detail::pretty_type_name(typeid(Impl));
      static const topology_registry::profile shape{.kind = name};
      return &shape;
    }
  }

  /// topology(), and the sections holding actor trees (for the metrics walk).
  [[nodiscard]] nlohmann::json topology(std::vector<std::string>* node_sections) const;

  runtime_config cfg_;
  std::chrono::steady_clock::time_point started_;
  std::atomic<bool> stopping_{false};
  // Declared before the actor system: actors that terminate during the system's teardown
  // still reach the tracker and the pool (and the tracker publishes their exits).
  std::shared_ptr<event_stream> events_ = std::make_shared<event_stream>();
  topology_registry registry_;
  metric_registry metric_families_;
  detail::actor_tracker tracker_{registry_, *events_};
  std::shared_ptr<detail::blocking_pool> blocking_;
  std::shared_ptr<dead_letter_office> dead_letters_ = std::make_shared<dead_letter_office>(events_);
  named_registry named_;
  caf::actor_system_config caf_cfg_;
  std::unique_ptr<caf::actor_system> system_;
  caf::actor gateway_;
  // Wakes run_until_stopped: written by request_stop and, with handle_signals, by the signal
  // handler (a pipe, because write() is one of the few calls a signal handler may make).
  int stop_pipe_[2] = {-1, -1};
  // The stop wait_for_stop saw (the signal number, 0 for request_stop), -1 before: a stop is
  // read from the pipe once and then remembered. Written and read by the one waiting caller.
  int stop_seen_ = -1;
  // SIGUSR1 (with handle_signals) wakes the dump thread through this pipe.
  int dump_pipe_[2] = {-1, -1};
  std::thread dump_thread_;
  // Answers 503 until the constructor finished.
  std::unique_ptr<admin_endpoint> admin_;
  // Declared after the system: destroyed before it, while the workers it watches still exist.
  std::unique_ptr<work_stealing::blocked_worker_watchdog> watchdog_;
};

/// Runs `fn` on the blocking pool of the runtime that owns `self`'s actor system and answers
/// as a response to `self`: the result value, or an error (runtime_errc::job_failed with the
/// exception message, runtime_errc::cancelled, runtime_errc::blocking_queue_full).
/// `fn` returns a type that can travel in a CAF message, or void.
///
/// Example (inside an event-based actor):
///
///   troupe::spawn_blocking(self, [path] { return load(path); })
///     .then([=](std::string text) { ... }, [=](caf::error& err) { ... });
///
/// Thread safety: call only from inside `self`'s handlers. Never blocks the calling worker.
template <class Self, class F>
auto spawn_blocking(Self* self, F fn) {
  detail::blocking_job job{[fn = std::move(fn)]() mutable -> caf::message {
    if constexpr (std::is_void_v<std::invoke_result_t<F&>>) {
      fn();
      return caf::make_message();
    } else {
      return caf::make_message(fn());
    }
  }};
  auto* rt = runtime::of(self->system());
  caf::actor gateway = rt != nullptr ? rt->blocking_gateway() : caf::actor{};
  return self->request(gateway, caf::infinite, std::move(job));
}

} // namespace troupe
