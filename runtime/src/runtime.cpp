#include "troupe/runtime/runtime.hpp"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <unordered_map>

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <caf/all.hpp>

#include "troupe/runtime/detail/runtime_metric_families.hpp"
#include "troupe/runtime/file_write.hpp"
#include "troupe/runtime/runtime_event_kinds.hpp"
#include "troupe/scheduler/system_thread.hpp"
#include "troupe/scheduler/work_stealing.hpp"

namespace troupe {

namespace {

// Maps an actor system to the runtime that owns it, so that free functions such as
// spawn_blocking(self, ...) find the runtime from inside any actor.
std::mutex owners_mtx;

// The write ends of the stop and dump pipes of the runtime that handles signals, or -1.
std::atomic<int> signal_pipe{-1};
std::atomic<int> dump_signal_pipe{-1};
struct sigaction previous_sigint {};
struct sigaction previous_sigterm {};
struct sigaction previous_sigusr1 {};

extern "C" void on_stop_signal(int signo) {
  auto fd = signo == SIGUSR1 ? dump_signal_pipe.load() : signal_pipe.load();
  if (fd >= 0) {
    auto byte = static_cast<char>(signo);
    // Nothing useful can be done about a full pipe: one byte is already waiting.
    [[maybe_unused]] auto written = ::write(fd, &byte, 1);
  }
}

// The constructor's error when another runtime owns the signals; create() turns it into a
// typed error.
struct signals_taken : std::invalid_argument {
  signals_taken()
      : std::invalid_argument("handle_signals: another troupe::runtime already handles signals") {}
};

void install_signal_handlers(int fd, int dump_fd) {
  int expected = -1;
  if (!signal_pipe.compare_exchange_strong(expected, fd))
    throw signals_taken{};
  dump_signal_pipe.store(dump_fd);
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGINT, &action, &previous_sigint);
  sigaction(SIGTERM, &action, &previous_sigterm);
  sigaction(SIGUSR1, &action, &previous_sigusr1);
}

void remove_signal_handlers(int fd) {
  int expected = fd;
  if (signal_pipe.compare_exchange_strong(expected, -1)) {
    sigaction(SIGINT, &previous_sigint, nullptr);
    sigaction(SIGTERM, &previous_sigterm, nullptr);
    sigaction(SIGUSR1, &previous_sigusr1, nullptr);
    dump_signal_pipe.store(-1);
  }
}
std::unordered_map<const caf::actor_system*, runtime*> owners;

std::string render_with(caf::atom_value category, uint8_t code, const caf::message& context) {
  return render(caf::error{code, category, context});
}

// Answers a response promise from any thread. response_promise::deliver uses the promising
// actor's execution unit to schedule the receiver, which is only safe on that actor's own
// thread; enqueueing with no execution unit goes through the scheduler's thread-safe path.
void deliver_from_any_thread(const caf::response_promise& rp, caf::message msg) {
  auto receiver = rp.next();
  if (!receiver)
    return;
  auto stages = rp.stages();
  if (!stages.empty())
    stages.erase(stages.begin());
  receiver->enqueue(
      caf::make_mailbox_element(nullptr, rp.id().response_id(), std::move(stages), std::move(msg)),
      nullptr);
}

caf::behavior blocking_gateway_actor(caf::event_based_actor* self,
                                     std::shared_ptr<detail::blocking_pool> jobs) {
  return {
      [self, jobs](detail::blocking_job& job) -> caf::response_promise {
        auto rp = self->make_response_promise();
        auto err = jobs->submit([rp, run = std::move(job.run)](bool cancelled) mutable {
          caf::message response;
          if (cancelled) {
            response = caf::make_message(make_error(runtime_errc::cancelled));
          } else {
            try {
              response = run();
            } catch (const std::exception& e) {
              response =
                  caf::make_message(make_error(runtime_errc::job_failed, std::string{e.what()}));
            } catch (...) {
              response = caf::make_message(
                  make_error(runtime_errc::job_failed, std::string{"unknown exception"}));
            }
          }
          deliver_from_any_thread(rp, std::move(response));
        });
        if (err)
          rp.deliver(std::move(err));
        return rp;
      },
  };
}

// The worker.blocked event of a watchdog report.
void publish_blocked_worker(event_stream& events, const blocked_worker_report& report) {
  if (!events.wants(event_level::warning))
    return;
  event e;
  e.level = event_level::warning;
  e.kind = event_kinds::worker_blocked;
  e.actor = report.actor;
  e.name = report.actor_name;
  e.text = "blocked worker " + std::to_string(report.worker) + " for at least " +
           std::to_string(report.held_for.count()) +
           " ms: a handler is blocking; move the work to spawn_blocking";
  e.fields = {{"worker", report.worker}, {"held_ms", report.held_for.count()}};
  events.publish(std::move(e));
}

} // namespace

void to_json(nlohmann::json& out, const runtime_metrics& m) {
  out = nlohmann::json{
      {"workers", m.workers},
      {"flavor", to_string(m.flavor)},
      {"max_throughput", m.max_throughput},
      {"blocking_threads_max", m.blocking_threads_max},
      {"blocking_threads", m.blocking_threads},
      {"blocking_busy", m.blocking_busy},
      {"blocking_queue_depth", m.blocking_queue_depth},
      {"blocking_completed", m.blocking_completed},
      {"live_actors", m.live_actors},
      {"spawned_actors", m.spawned_actors},
      {"dead_letters", m.dead_letters},
      {"uptime_ms", m.uptime.count()},
  };
}

runtime::runtime(runtime_config cfg, caf_customizer customize)
    : cfg_(std::move(cfg)), started_(std::chrono::steady_clock::now()) {
  if (auto err = cfg_.validate())
    throw std::invalid_argument(render(err));
  detail::declare_runtime_metric_families(metric_families_);
  // First, so that a port that cannot be bound fails the constructor before anything runs.
  if (cfg_.admin_port)
    admin_ = std::make_unique<admin_endpoint>(
        cfg_.admin_address, *cfg_.admin_port, *events_, metric_families_,
        [this](std::vector<std::string>* node_sections) { return topology(node_sections); });
  registry_.set_enabled(cfg_.introspection);
  blocking_ =
      std::make_shared<detail::blocking_pool>(cfg_.blocking_threads, cfg_.blocking_queue_capacity);
  switch (cfg_.scheduler) {
  case scheduler_policy::troupe:
    work_stealing::install(caf_cfg_);
    break;
  case scheduler_policy::caf_stealing:
    caf_cfg_.set("scheduler.policy", caf::atom("stealing"));
    break;
  case scheduler_policy::caf_sharing:
    caf_cfg_.set("scheduler.policy", caf::atom("sharing"));
    break;
  }
  // Blocking calls that wait for actors tell a thread of this system by its mark.
  mark_actor_system_threads(caf_cfg_);
  caf_cfg_.set("scheduler.max-threads", cfg_.effective_workers());
  caf_cfg_.set("scheduler.max-throughput", cfg_.max_throughput);
  caf_cfg_.add_error_category(config_error_category, [](uint8_t code, caf::atom_value category,
                                                        const caf::message& context) {
    return render_with(category, code, context);
  });
  caf_cfg_.add_error_category(runtime_error_category, [](uint8_t code, caf::atom_value category,
                                                         const caf::message& context) {
    return render_with(category, code, context);
  });
  if (customize)
    customize(caf_cfg_);
  if (::pipe2(stop_pipe_, O_CLOEXEC) != 0)
    throw std::runtime_error("troupe::runtime: cannot create its stop pipe");
  // Never block a signal handler or request_stop on a full pipe.
  ::fcntl(stop_pipe_[1], F_SETFL, O_NONBLOCK);
  if (cfg_.handle_signals) {
    try {
      if (::pipe2(dump_pipe_, O_CLOEXEC) != 0)
        throw std::runtime_error("troupe::runtime: cannot create its dump pipe");
      ::fcntl(dump_pipe_[1], F_SETFL, O_NONBLOCK);
      install_signal_handlers(stop_pipe_[1], dump_pipe_[1]);
    } catch (...) {
      for (int fd : {stop_pipe_[0], stop_pipe_[1], dump_pipe_[0], dump_pipe_[1]})
        if (fd >= 0)
          ::close(fd);
      throw;
    }
  }
  system_ = std::make_unique<caf::actor_system>(caf_cfg_);
  {
    std::lock_guard guard{owners_mtx};
    owners[system_.get()] = this;
  }
  // Hidden: the gateway is infrastructure and must not count as a user's live actor.
  gateway_ = system_->spawn<caf::hidden>(blocking_gateway_actor, blocking_);
  watchdog_ = work_stealing::blocked_worker_watchdog::start(
      *system_, cfg_.blocked_threshold,
      [events = events_.get()](const blocked_worker_report& report) {
        publish_blocked_worker(*events, report);
      });
  if (cfg_.handle_signals)
    dump_thread_ = std::thread{[this] {
      char byte = 0;
      for (;;) {
        auto n = ::read(dump_pipe_[0], &byte, 1);
        if (n < 0 && errno == EINTR)
          continue;
        if (n <= 0)
          return; // the runtime closed the pipe
        // A background operation: nobody waits for an answer, so a failure is told on stderr
        // and counted rather than lost.
        if (auto err = dump_topology()) {
          topology_dump_failures_.fetch_add(1, std::memory_order_relaxed);
          auto line = "troupe: topology dump failed: " + render(err) + "\n";
          std::fwrite(line.data(), 1, line.size(), stderr);
          std::fflush(stderr);
        }
      }
    }};
  if (admin_)
    admin_->set_ready();
}

troupe::result<std::unique_ptr<runtime>> runtime::create(runtime_config cfg,
                                                         caf_customizer customize) {
  if (auto err = cfg.validate())
    return err;
  try {
    return std::make_unique<runtime>(std::move(cfg), std::move(customize));
  } catch (const admin_listen_error& e) {
    return make_error(runtime_errc::admin_unavailable, std::string{e.what()});
  } catch (const signals_taken&) {
    return make_error(config_errc::conflicting_options, std::string{"handle_signals"},
                      std::string{"another troupe::runtime in this process already handles "
                                  "signals"});
  } catch (const std::runtime_error& e) {
    // The stop and dump pipes, the admin endpoint's epoll instance, a thread: out of resources.
    return make_error(runtime_errc::io_failed, std::string{"runtime"}, std::string{e.what()});
  }
}

runtime::~runtime() {
  // The endpoint and the dump thread read the system: they go first.
  admin_.reset();
  remove_signal_handlers(stop_pipe_[1]);
  if (dump_pipe_[1] >= 0) {
    ::close(dump_pipe_[1]); // the dump thread reads end-of-file and returns
    if (dump_thread_.joinable())
      dump_thread_.join();
    ::close(dump_pipe_[0]);
  }
  shutdown(cfg_.shutdown_timeout);
  {
    std::lock_guard guard{owners_mtx};
    owners.erase(system_.get());
  }
  watchdog_.reset();
  // Whatever is still alive now was reported by shutdown(); do not let the actor system's
  // destructor wait for it forever.
  system_->await_actors_before_shutdown(false);
  system_.reset();
  ::close(stop_pipe_[0]);
  ::close(stop_pipe_[1]);
}

uint16_t runtime::admin_port() const noexcept {
  return admin_ ? admin_->port() : 0;
}

caf::error runtime::dump_topology() const {
  auto text = topology().dump(2) + "\n";
  if (cfg_.topology_file.empty()) {
    bool written = std::fwrite(text.data(), 1, text.size(), stderr) == text.size();
    if (std::fflush(stderr) != 0 || !written)
      return make_error(runtime_errc::io_failed, std::string{"stderr"}, std::string{"write"},
                        std::string{std::strerror(errno)});
    return caf::none;
  }
  // Written aside and renamed, so a reader never sees half a dump.
  return write_file_atomically(cfg_.topology_file, text);
}

void runtime::request_stop() noexcept {
  char byte = 0;
  [[maybe_unused]] auto written = ::write(stop_pipe_[1], &byte, 1);
}

shutdown_report runtime::run_until_stopped(int* signal) {
  auto stopped_by = wait_for_stop();
  if (signal != nullptr)
    *signal = stopped_by;
  return shutdown();
}

int runtime::wait_for_stop() {
  std::optional<int> stopped_by;
  while (!stopped_by)
    stopped_by = wait_for_stop(std::chrono::hours{24});
  return *stopped_by;
}

std::optional<int> runtime::wait_for_stop(std::chrono::milliseconds timeout) {
  if (stop_seen_ >= 0)
    return stop_seen_;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd readable{stop_pipe_[0], POLLIN, 0};
    auto ready = ::poll(&readable, 1, static_cast<int>(std::max<int64_t>(left.count(), 0)));
    if (ready < 0 && errno == EINTR)
      continue;
    if (ready <= 0)
      return std::nullopt; // timed out (the pipe cannot fail otherwise while the runtime exists)
    char byte = 0;
    auto n = ::read(stop_pipe_[0], &byte, 1);
    if (n == 1) {
      stop_seen_ = static_cast<unsigned char>(byte);
      return stop_seen_;
    }
    if (n < 0 && errno == EINTR)
      continue;
    return std::nullopt;
  }
}

runtime* runtime::of(caf::actor_system& sys) noexcept {
  std::lock_guard guard{owners_mtx};
  auto i = owners.find(&sys);
  return i != owners.end() ? i->second : nullptr;
}

scheduler_metrics runtime::scheduler_stats() const {
  scheduler_metrics m;
  m.policy = to_string(cfg_.scheduler);
  m.workers = system_->scheduler().num_workers();
  work_stealing::collect(*system_, m);
  m.blocked_reports = watchdog_ ? watchdog_->reports() : 0;
  return m;
}

void runtime::on_blocked_worker(std::function<void(const blocked_worker_report&)> hook) {
  if (watchdog_)
    watchdog_->set_hook(std::move(hook));
}

runtime_metrics runtime::metrics() const {
  runtime_metrics m;
  m.workers = cfg_.effective_workers();
  m.flavor = cfg_.flavor;
  m.max_throughput = cfg_.max_throughput;
  auto blocking = blocking_->snapshot();
  m.blocking_threads_max = cfg_.blocking_threads;
  m.blocking_threads = blocking.threads;
  m.blocking_busy = blocking.busy;
  m.blocking_queue_depth = blocking.queued;
  m.blocking_completed = blocking.completed;
  m.live_actors = system_->registry().running();
  m.spawned_actors = tracker_.size();
  m.dead_letters = dead_letters_->count();
  m.uptime = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started_);
  return m;
}

nlohmann::json runtime::topology() const {
  return topology(nullptr);
}

nlohmann::json runtime::topology(std::vector<std::string>* node_sections) const {
  auto out = registry_.dump(node_sections);
  out["format"] = "troupe-topology";
  out["version"] = 1;
  nlohmann::json rt = metrics();
  rt["troupe_version"] = TROUPE_VERSION;
  rt["scheduler"] = to_string(cfg_.scheduler);
  out["runtime"] = std::move(rt);
  out["dead_letters"] = dead_letters_->count();
  return out;
}

shutdown_report runtime::shutdown(std::chrono::milliseconds deadline) {
  shutdown_report report;
  if (stopping_.exchange(true))
    return report;
  auto until = std::chrono::steady_clock::now() + deadline;
  // Owned actors are left to their owners, which stop them in their own order (a tree in
  // reverse start order); asking them here as well would stop a tree in no particular order.
  for (auto& entry : tracker_.live())
    if (!entry.owned)
      caf::anon_send_exit(entry.address, caf::exit_reason::user_shutdown);
  if (!tracker_.await_empty(until)) {
    for (auto& entry : tracker_.live()) {
      report.forced.push_back({entry.id, entry.name});
      caf::anon_send_exit(entry.address, caf::exit_reason::kill);
    }
    // A killed actor is gone once its current handler returns; one that never returns
    // cannot be helped and is left to the system's teardown.
    tracker_.await_empty(std::chrono::steady_clock::now() + std::chrono::milliseconds{500});
  }
  auto remaining = std::max(until - std::chrono::steady_clock::now(),
                            std::chrono::steady_clock::duration{std::chrono::milliseconds{100}});
  report.abandoned_blocking_jobs = blocking_->shutdown(remaining);
  caf::anon_send_exit(gateway_, caf::exit_reason::user_shutdown);
  gateway_ = nullptr;
  return report;
}

} // namespace troupe
