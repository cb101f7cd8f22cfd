// Troupe's flagship demo: a small job-processing service built as an actor system.
//
//   service (supervisor, one_for_one)
//   ├─ stats    subscribes to "results": live statistics (throughput, failures)
//   ├─ sink     subscribes to "results": checks that every job is answered exactly once
//   ├─ workers  a supervised pool of 4 workers behind a bounded queue (its own supervisor)
//   └─ intake   turns the generated stream of jobs into pool jobs, with flow control, and
//               publishes each answer on the "results" topic
//
// Some jobs crash their worker: "flaky" ones once (the pool restarts the worker and retries
// the job), "poisoned" ones every time (answered with the crash after one retry). A watched
// config value, the job rate, is raised halfway through. Progress is printed every second, the
// admin endpoint serves the live topology (GET /topology, GET /metrics), and after the set
// duration or on ctrl-c/SIGTERM the service stops gracefully: intake stops taking jobs, every
// accepted job is answered and reaches both subscribers, then the tree stops in reverse order.
// It ends with a summary, writes the topology JSON and exits 0 only if no accepted job was lost
// and the topology was written. With event-log, the runtime's lifecycle events (crashes,
// restarts, retries, ...) are written as they happen: one line of text each, or JSON lines for
// a path ending in .jsonl; "-" writes them to stderr.
//
//   ./service_demo                              6 s, topology to service-topology.json
//   ./service_demo run-for=20000 topology-out=/tmp/t.json --admin-port=8080 --workers=4
//   ./service_demo event-log=- event-level=warning

#include <atomic>
#include <charconv>
#include <csignal>
#include <cstdint>
#include <future>
#include <iomanip>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "troupe/troupe.hpp"

#include "command_line.hpp"

using namespace std::chrono_literals;

namespace {

// -- messages ---------------------------------------------------------------------------------

struct job {
  uint64_t id;
  uint32_t cost;     // rounds of work
  bool flaky;        // crashes its worker on the first attempt
  bool poisoned;     // crashes its worker on every attempt
  uint32_t attempts; // the pool hands the same job to the retry
  using reply_type = uint64_t;
};

struct result {
  uint64_t job = 0;
  uint64_t value = 0;
  bool failed = false;
  bool end = false; // the last message: every accepted job was answered before it
};

struct tick {};  // the load generator's clock: admit the current rate's worth of jobs
struct drain {}; // stop admitting; announce the end once every accepted job is answered
struct start {}; // subscribers subscribe on their first message

// What a child's factory made, for main to reach: the supervisor writes it on a (re)start.
template <class T>
class latest {
public:
  void set(T value) {
    std::lock_guard guard{mtx_};
    value_ = std::move(value);
  }
  [[nodiscard]] T get() const {
    std::lock_guard guard{mtx_};
    return *value_;
  }

private:
  mutable std::mutex mtx_;
  std::optional<T> value_;
};

using intake_mailbox = troupe::mailbox<tick, drain, start>;

// -- the work ---------------------------------------------------------------------------------

uint64_t work(const job& j) {
  uint64_t x = j.id * 0x9E3779B97F4A7C15ULL + 1;
  for (uint32_t i = 0; i < j.cost; ++i) { // xorshift rounds: a CPU-bound "transform"
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
  }
  return x;
}

// -- shared figures (written by one actor each, read by main for progress) --------------------

struct intake_figures {
  std::atomic<uint64_t> generated{0}; // jobs the stream offered
  std::atomic<uint64_t> accepted{0};  // jobs the pool took (each is answered exactly once)
  std::atomic<uint64_t> shed{0};      // jobs not taken: the backlog was full (overload)
  std::atomic<uint64_t> completed{0};
  std::atomic<uint64_t> failed{0};
  std::atomic<int> rate{0}; // jobs per tick, as intake last saw the watched value
  std::promise<void> drained;
};

struct subscriber_figures {
  std::atomic<uint64_t> received{0};
  std::atomic<uint64_t> failed{0};
  std::atomic<uint64_t> lagged{0};
  std::atomic<uint64_t> duplicates{0};
  std::atomic<bool> saw_end{false};
  std::promise<void> ended;
};

// -- intake -----------------------------------------------------------------------------------

using job_pool = troupe::supervised_pool<job>;

// Admits the generated stream into the pool with flow control: each job is submitted once the
// previous one is queued (a full queue parks it until a worker makes room), so the backlog in front
// of the pool is bounded (beyond it, jobs are shed and counted, never silently dropped).
class intake_state {
public:
  intake_state(job_pool pool, troupe::topic<result> results,
               std::shared_ptr<intake_figures> figures)
      : pool_(std::move(pool)), results_(std::move(results)), figures_(std::move(figures)) {}

  template <class Self>
  void on_tick(Self* self) {
    if (draining_)
      return;
    auto rate = static_cast<uint64_t>(figures_->rate.load());
    figures_->generated += rate;
    auto room = max_backlog_ - std::min(max_backlog_, backlog_);
    auto admitted = std::min(rate, room);
    figures_->shed += rate - admitted;
    backlog_ += admitted;
    feed(self);
  }

  template <class Self>
  void on_drain(Self* self) {
    draining_ = true;
    figures_->shed += backlog_; // offered, never accepted
    backlog_ = 0;
    maybe_end(self);
  }

private:
  // One job at a time: the next is submitted from the previous one's on_queued, which runs
  // once the job is in the pool's queue (at once when there was room, later when it parked).
  template <class Self>
  void feed(Self* self) {
    while (!waiting_ && backlog_ > 0 && !draining_) {
      --backlog_;
      auto id = next_id_++;
      job j{id, 20'000 + static_cast<uint32_t>(id % 7) * 10'000, id % 101 == 5, id % 997 == 11, 0};
      auto pool = pool_.current(); // the pool the workers child runs now
      if (!pool) {
        figures_->shed += 1;
        continue;
      }
      auto status = pool->submit(
          self, j,
          [this, self, id](uint64_t value) {
            answered(self, result{id, value});
          },
          [this, self, id](caf::error) {
            answered(self, result{id, 0, true});
          },
          [this, self] {
            waiting_ = false;
            feed(self);
            maybe_end(self); // the last job's answer may have come first
          });
      if (!status) {
        figures_->shed += 1; // refused (the pool is stopping): never accepted
        continue;
      }
      figures_->accepted += 1;
      ++accepted_;
      waiting_ = true;
    }
  }

  template <class Self>
  void answered(Self* self, result r) {
    (r.failed ? figures_->failed : figures_->completed) += 1;
    ++answered_;
    results_.publish(r, self->context());
    maybe_end(self);
  }

  template <class Self>
  void maybe_end(Self* self) {
    if (!draining_ || waiting_ || ended_ || answered_ != accepted_)
      return;
    ended_ = true;
    results_.publish(result{0, 0, false, true}, self->context());
    figures_->drained.set_value();
  }

  job_pool pool_;
  troupe::topic<result> results_;
  std::shared_ptr<intake_figures> figures_;
  uint64_t next_id_ = 0;
  uint64_t backlog_ = 0;
  uint64_t max_backlog_ = 20'000;
  uint64_t accepted_ = 0;
  uint64_t answered_ = 0;
  bool waiting_ = false; // a submitted job's on_queued has not run yet
  bool draining_ = false;
  bool ended_ = false;
};

// -- subscribers ------------------------------------------------------------------------------

// One child spec per subscriber: it subscribes to "results" and counts what it sees; `check`
// keeps the exactly-once bookkeeping of the sink.
troupe::child_spec subscriber(std::string id, troupe::topic<result> results,
                              std::shared_ptr<subscriber_figures> figures, bool check) {
  troupe::child_spec spec;
  spec.id = id;
  spec.start = [id, results, figures,
                check](const troupe::child_context& ctx) -> troupe::started_child {
    troupe::mailbox_options opts;
    opts.name = id;
    auto mb = troupe::spawn_mailbox<start>(ctx.rt, opts, [results, figures, check](auto* self) {
      auto seen = std::make_shared<std::vector<bool>>(); // only touched by this actor
      return troupe::handlers{[self, results, figures, check, seen](start&) {
        (void)results.subscribe(
            self,
            [figures, check, seen](const result& r) {
              if (r.end) {
                if (!figures->saw_end.exchange(true))
                  figures->ended.set_value();
                return;
              }
              figures->received += 1;
              if (r.failed)
                figures->failed += 1;
              if (check) {
                if (seen->size() <= r.job)
                  seen->resize(r.job * 2 + 1024);
                if ((*seen)[r.job])
                  figures->duplicates += 1;
                (*seen)[r.job] = true;
              }
            },
            [figures](troupe::lagged l) { figures->lagged += l.missed; });
      }};
    });
    if (!mb)
      return std::move(mb.error());
    (void)mb->send(start{});
    return mb->actor();
  };
  return spec;
}

// -- command line -----------------------------------------------------------------------------

struct demo_options {
  int64_t run_for_ms = 6000;
  std::string topology_out = "service-topology.json";
  std::string event_log; // "-": stderr; *.jsonl: JSON lines; empty: none
  troupe::event_level event_level = troupe::event_level::info;
};

// Lines from main and from actors, whole.
void say(const std::string& line) {
  static std::mutex mtx;
  std::lock_guard guard{mtx};
  std::cout << line << std::endl;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

} // namespace

int main(int argc, char** argv) {
  example::command_line cli{
      argc,
      argv,
      "service_demo: a small job-processing service built as an actor system",
      {{"run-for", "MS", "run time before the graceful stop", 6000, 1, 86'400'000},
       example::text("topology-out", "PATH", "where to write the topology at the end",
                     "service-topology.json"),
       example::text("event-log", "PATH",
                     "write lifecycle events to PATH (- for stderr; JSON lines for *.jsonl)", ""),
       example::text("event-level", "LEVEL",
                     "least severe event written: debug, info, notice, warning or error", "info")}};
  if (cli.done())
    return cli.exit_code();
  auto cfg = &cli.config();
  demo_options opts;
  opts.run_for_ms = cli.integer("run-for");
  opts.topology_out = cli.value("topology-out");
  opts.event_log = cli.value("event-log");
  if (auto level = troupe::parse_event_level(cli.value("event-level"))) {
    opts.event_level = *level;
  } else {
    std::cerr << "service_demo: event-level: not a level: " << cli.value("event-level")
              << " (debug, info, notice, warning, error)\n";
    return 2;
  }
  cfg->handle_signals = true;
  if (!cfg->admin_port)
    cfg->admin_port = 0; // a free port on 127.0.0.1
  troupe::runtime rt{*cfg};

  // The event log: subscribed before anything starts, so it sees the whole tree come up.
  std::unique_ptr<troupe::event_log> event_log;
  if (opts.event_log == "-") {
    event_log = std::make_unique<troupe::event_log>(rt.events(), std::cerr,
                                                    troupe::event_format::text, opts.event_level);
  } else if (!opts.event_log.empty()) {
    auto json = opts.event_log.ends_with(".jsonl");
    auto opened = troupe::event_log::open(
        rt.events(), opts.event_log, json ? troupe::event_format::json : troupe::event_format::text,
        opts.event_level);
    if (!opened) {
      std::cerr << "service_demo: event-log: " << troupe::render(opened.error()) << '\n';
      return 1;
    }
    event_log = std::move(*opened);
  }

  // The watched config value: jobs per 10 ms tick.
  auto rate = troupe::make_watched<int>(20);
  auto results =
      troupe::make_topic<result>(rt, troupe::topic_options{.capacity = 1 << 16,
                                                           .on_lag = troupe::lag_policy::notify_lag,
                                                           .name = "results"})
          .value();
  auto intake_figs = std::make_shared<intake_figures>();
  auto stats_figs = std::make_shared<subscriber_figures>();
  auto sink_figs = std::make_shared<subscriber_figures>();
  auto intake_slot = std::make_shared<latest<intake_mailbox>>();

  // The pool is one child of the service's supervisor; workers.pool reaches the pool it runs
  // now, also after a restart of the child made a new one.
  troupe::pool_options popts;
  popts.workers = 4;
  popts.capacity = 512;
  popts.max_retries = 1;        // a flaky job succeeds on its retry
  popts.max_restarts = 100'000; // crashes are injected on purpose
  auto workers = troupe::pool_child<job>("workers", popts, [](std::size_t) {
    return [](job& j) -> uint64_t {
      auto attempt = j.attempts++;
      if (j.poisoned || (j.flaky && attempt == 0))
        throw std::runtime_error("worker crashed on job " + std::to_string(j.id));
      return work(j);
    };
  });

  troupe::child_spec intake;
  intake.id = "intake";
  intake.start = [pool = workers.pool, intake_slot, results, rate,
                  intake_figs](const troupe::child_context& ctx) -> troupe::started_child {
    troupe::mailbox_options mopts;
    mopts.name = "intake";
    auto mb = troupe::spawn_mailbox<tick, drain, start>(
        ctx.rt, mopts, [pool, results, rate, intake_figs](auto* self) {
          auto st = std::make_shared<intake_state>(pool, results, intake_figs);
          return troupe::handlers{
              [self, st](tick&) { st->on_tick(self); },
              [self, st](drain&) { st->on_drain(self); },
              [self, rate, intake_figs](start&) {
                rate.subscribe(self, [intake_figs](const int& r) {
                  if (intake_figs->rate.exchange(r) != r)
                    say("config: rate is now " + std::to_string(r * 100) + " jobs/s");
                });
              },
          };
        });
    if (!mb)
      return std::move(mb.error());
    (void)mb->send(start{});
    intake_slot->set(*mb);
    return mb->actor();
  };

  std::cout << "service starting: " << rt.config().workers << " scheduler workers, pool of 4, "
            << "for " << opts.run_for_ms / 1000.0 << " s (ctrl-c stops it earlier)\n"
            << "live topology: curl http://127.0.0.1:" << rt.admin_port() << "/topology"
            << "   metrics: curl http://127.0.0.1:" << rt.admin_port() << "/metrics" << std::endl;

  troupe::supervisor_spec spec;
  spec.name = "service";
  spec.intensity = 10;
  spec.children = {subscriber("stats", results, stats_figs, false),
                   subscriber("sink", results, sink_figs, true), workers, intake};
  auto service = troupe::start_supervisor(rt, spec);
  if (!service) {
    std::cerr << "cannot start the service: " << troupe::render(service.error()) << '\n';
    return 1;
  }
  // The load generator: a tick every 10 ms; progress every second; the rate raised halfway.
  auto t0 = std::chrono::steady_clock::now();
  auto run_for = std::chrono::milliseconds{opts.run_for_ms};
  auto next_progress = t0 + 1s;
  bool raised = false;
  int stop_signal = -1;
  uint64_t last_done = 0;
  while (std::chrono::steady_clock::now() - t0 < run_for) {
    if (auto sig = rt.wait_for_stop(10ms)) {
      stop_signal = *sig;
      break;
    }
    (void)intake_slot->get().send(tick{});
    auto now = std::chrono::steady_clock::now();
    if (!raised && now - t0 >= run_for / 2) {
      raised = true;
      rate.set(60);
    }
    if (now >= next_progress) {
      next_progress += 1s;
      auto done = stats_figs->received.load();
      auto m = workers.pool.current().value().metrics();
      std::ostringstream line;
      line << std::fixed << std::setprecision(1) << "[" << std::setw(5) << seconds_since(t0)
           << " s] accepted " << intake_figs->accepted.load() << ", answered " << done << " ("
           << done - last_done << "/s), failed " << stats_figs->failed.load() << ", queue "
           << m.queue_depth << ", worker restarts " << m.restarts << ", shed "
           << intake_figs->shed.load();
      say(line.str());
      last_done = done;
    }
  }

  // Graceful shutdown: stop admitting, answer everything accepted, let both subscribers see it.
  say(std::string{"stopping ("} +
      (stop_signal < 0    ? "run-for elapsed"
       : stop_signal == 0 ? "requested"
                          : (stop_signal == SIGINT ? "SIGINT" : "SIGTERM")) +
      "): draining accepted jobs");
  (void)intake_slot->get().send(drain{});
  bool drained = intake_figs->drained.get_future().wait_for(30s) == std::future_status::ready &&
                 stats_figs->ended.get_future().wait_for(30s) == std::future_status::ready &&
                 sink_figs->ended.get_future().wait_for(30s) == std::future_status::ready;
  auto topology = rt.topology(); // the tree as it ran, with its restart counts
  auto pool_metrics = workers.pool.current().value().metrics();
  auto stopped = service->stop(30s);
  auto report = rt.shutdown();

  auto accepted = intake_figs->accepted.load();
  auto completed = intake_figs->completed.load();
  auto failed = intake_figs->failed.load();
  auto lost = accepted - completed - failed;
  std::cout << "\nsummary after " << std::fixed << std::setprecision(1) << seconds_since(t0)
            << " s\n"
            << "  jobs offered " << intake_figs->generated.load() << ", accepted " << accepted
            << ", shed under overload " << intake_figs->shed.load() << '\n'
            << "  answered: completed " << completed << ", failed after retry " << failed
            << ", lost " << lost << '\n'
            << "  worker crashes " << pool_metrics.retried + pool_metrics.failed << " (retried "
            << pool_metrics.retried << "), worker restarts " << pool_metrics.restarts << '\n'
            << "  stats saw " << stats_figs->received.load() << ", sink saw "
            << sink_figs->received.load() << " (duplicates " << sink_figs->duplicates.load()
            << ", lagged " << stats_figs->lagged.load() + sink_figs->lagged.load() << ")\n"
            << "  shutdown: " << (drained ? "drained" : "NOT drained") << ", "
            << (stopped ? "tree stop failed: " + troupe::render(stopped)
                        : std::string{"tree stopped"})
            << ", forced " << report.forced.size() << '\n';
  bool written = true;
  if (!opts.topology_out.empty()) {
    if (auto err = troupe::write_file_atomically(opts.topology_out, topology.dump(2) + "\n")) {
      std::cout << "  topology NOT written: " << troupe::render(err) << '\n';
      written = false;
    } else {
      std::cout << "  topology written to " << opts.topology_out << '\n';
    }
  }
  bool ok = drained && !stopped && report.clean() && lost == 0 &&
            stats_figs->received.load() == accepted && sink_figs->received.load() == accepted &&
            sink_figs->duplicates.load() == 0 && stats_figs->lagged.load() == 0 &&
            sink_figs->lagged.load() == 0;
  std::cout << (ok ? "every accepted job was answered exactly once" : "MISMATCH") << std::endl;
  // A topology that could not be written fails the run too: nothing fails silently.
  return ok && written ? 0 : 1;
}
