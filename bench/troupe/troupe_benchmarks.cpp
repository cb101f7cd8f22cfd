// Troupe's side of the shared workloads (../../shared bench spec, see bench/README.md): the
// same sizes as the raw-CAF twins in bench/caf, one JSON line per workload on stdout, each
// checking its own result and exiting non-zero when it is wrong.
//
//   troupe_benchmarks [workload...]      (default: every workload implemented here)

#include <cstdio>
#include <future>
#include <memory>
#include <string_view>
#include <vector>

#include "common/bench_report.hpp"
#include "troupe/troupe.hpp"

using namespace troupe::bench;
using namespace std::chrono_literals;

namespace {

constexpr std::string_view system_name = "troupe";

troupe::runtime_config bench_config() {
  troupe::runtime_config cfg;
  cfg.workers = 2;
  // fan_in's producers send their whole share from one handler, which the blocked-worker
  // watchdog would rightly report; the benchmark does it on purpose, as its CAF twin does.
  cfg.blocked_threshold = std::chrono::milliseconds{0};
  return cfg;
}

// Waits for a completion signalled from an actor; a benchmark that never completes fails.
template <class T>
T await_done(std::future<T>& done, const char* what) {
  if (done.wait_for(300s) != std::future_status::ready)
    check(false, what);
  return done.get();
}

// -- fan_in ------------------------------------------------------------------------------------
// Two producer actors push n/2 messages each into one consumer's typed mailbox (unbounded).

void bench_fan_in() {
  const std::uint64_t n = scaled(10'000'000);
  const std::uint64_t first = n - n / 2;
  const std::uint64_t second = n / 2;
  auto triangle = [](std::uint64_t k) { return k == 0 ? 0 : k * (k - 1) / 2; };
  troupe::runtime rt{bench_config()};
  auto done = std::make_shared<std::promise<std::pair<std::uint64_t, std::uint64_t>>>();
  auto result = done->get_future();
  auto consumer = troupe::spawn_mailbox<std::uint64_t>(rt, {}, [n, done](auto* self) {
                    return troupe::handlers{[self, n, done, received = std::uint64_t{0},
                                             sum = std::uint64_t{0}](std::uint64_t x) mutable {
                      sum += x;
                      if (++received == n) {
                        done->set_value({received, sum});
                        self->quit();
                      }
                    }};
                  }).value();
  stopwatch sw;
  for (auto count : {first, second})
    rt.spawn([consumer, count](caf::event_based_actor* self) {
      for (std::uint64_t i = 0; i < count; ++i)
        consumer.send(self, i);
    });
  auto [received, sum] = await_done(result, "fan_in: consumer never finished");
  double seconds = sw.seconds();
  check(received == n, "fan_in: consumer saw the wrong number of messages");
  check(sum == triangle(first) + triangle(second), "fan_in: wrong payload sum");
  report(system_name, "fan_in", n, seconds, "msgs/s");
}

// -- ping_pong ---------------------------------------------------------------------------------
// Two mailbox actors bounce a counter with plain sends.

struct ping_msg {
  std::uint64_t x = 0;
};
struct pong_msg {
  std::uint64_t x = 0;
};
struct serve {
  troupe::mailbox<pong_msg> peer;
};

void bench_ping_pong() {
  const std::uint64_t n = scaled(1'000'000);
  troupe::runtime rt{bench_config()};
  auto done = std::make_shared<std::promise<std::uint64_t>>();
  auto result = done->get_future();
  auto pong = troupe::spawn_mailbox<serve, ping_msg>(rt, {}, [](auto* self) {
                auto peer = std::make_shared<troupe::mailbox<pong_msg>>();
                return troupe::handlers{
                    [peer](serve& s) { *peer = std::move(s.peer); },
                    [self, peer](ping_msg& p) { peer->send(self, pong_msg{p.x}); },
                };
              }).value();
  auto ping = troupe::spawn_mailbox<pong_msg>(rt, {}, [pong, n, done](auto* self) {
                return troupe::handlers{[self, pong, n, done](pong_msg& p) {
                  if (p.x == n) {
                    done->set_value(p.x);
                    self->quit();
                    return;
                  }
                  pong.send(self, ping_msg{p.x + 1});
                }};
              }).value();
  check(static_cast<bool>(pong.send(serve{ping})), "ping_pong: could not connect");
  stopwatch sw;
  check(static_cast<bool>(pong.send(ping_msg{1})), "ping_pong: first ping refused");
  auto round_trips = await_done(result, "ping_pong: never finished");
  double seconds = sw.seconds();
  check(round_trips == n, "ping_pong: wrong number of round trips");
  report(system_name, "ping_pong", n, seconds, "round_trips/s");
}

// -- request_response --------------------------------------------------------------------------
// One client actor sends n sequential requests to one server mailbox that replies x + 1.

struct increment {
  std::uint64_t x = 0;
  using reply_type = std::uint64_t;
};

using increment_server = troupe::mailbox<increment>;

increment_server spawn_increment_server(troupe::runtime& rt) {
  return troupe::spawn_mailbox<increment>(
             rt, {}, [](auto*) { return troupe::handlers{[](increment& m) { return m.x + 1; }}; })
      .value();
}

// The client is a Troupe actor: its replies come back through its own reply queue.
struct start {};

template <class Self>
void rr_next(Self* self, const increment_server& server, std::uint64_t x, std::uint64_t n,
             const std::shared_ptr<std::promise<std::uint64_t>>& done) {
  troupe::request(self, server, increment{x}, caf::infinite)
      .then(
          [=](std::uint64_t y) {
            check(y == x + 1, "request_response: wrong reply");
            if (y == n) {
              done->set_value(y);
              self->quit();
            } else {
              rr_next(self, server, y, n, done);
            }
          },
          [](caf::error) { check(false, "request_response: request failed"); });
}

void bench_request_response() {
  const std::uint64_t n = scaled(1'000'000);
  troupe::runtime rt{bench_config()};
  auto server = spawn_increment_server(rt);
  auto done = std::make_shared<std::promise<std::uint64_t>>();
  auto result = done->get_future();
  auto client = troupe::spawn_mailbox<start>(rt, {}, [server, n, done](auto* self) {
                  return troupe::handlers{[=](start&) { rr_next(self, server, 0, n, done); }};
                }).value();
  stopwatch sw;
  check(static_cast<bool>(client.send(start{})), "request_response: client refused start");
  auto replies = await_done(result, "request_response: never finished");
  double seconds = sw.seconds();
  check(replies == n, "request_response: wrong number of replies");
  caf::anon_send_exit(server.actor(), caf::exit_reason::user_shutdown);
  report(system_name, "request_response", n, seconds, "requests/s");
}

// -- fan_out_gather ----------------------------------------------------------------------------
// One client actor sends 1000 concurrent requests to 1000 worker mailboxes and gathers all
// replies, n / 1000 rounds.

constexpr std::uint64_t gather_width = 1000;

struct gather_round_state {
  std::vector<increment_server> workers;
  std::uint64_t rounds = 0;
  std::uint64_t round = 0;
  std::uint64_t total = 0;
  std::shared_ptr<std::promise<std::uint64_t>> done;
};

template <class Self>
void gather_round(Self* self, std::shared_ptr<gather_round_state> st) {
  const std::uint64_t base = st->round * gather_width;
  std::vector<troupe::pending<std::uint64_t>> reqs;
  reqs.reserve(gather_width);
  for (std::uint64_t i = 0; i < gather_width; ++i)
    reqs.push_back(troupe::request(self, st->workers[i], increment{base + i}, caf::infinite));
  troupe::gather(std::move(reqs))
      .then(
          [self, st, base](std::vector<caf::expected<std::uint64_t>> replies) {
            std::uint64_t sum = 0;
            for (auto& r : replies) {
              check(static_cast<bool>(r), "fan_out_gather: a request failed");
              sum += *r;
            }
            check(sum == gather_width * base + gather_width * (gather_width + 1) / 2,
                  "fan_out_gather: wrong sum of gathered replies");
            st->total += replies.size();
            if (++st->round == st->rounds) {
              st->done->set_value(st->total);
              self->quit();
            } else {
              gather_round(self, st);
            }
          },
          [](caf::error) { check(false, "fan_out_gather: gather failed"); });
}

void bench_fan_out_gather() {
  const std::uint64_t rounds = std::max<std::uint64_t>(1, scaled(1'000'000) / gather_width);
  const std::uint64_t n = rounds * gather_width;
  troupe::runtime rt{bench_config()};
  auto st = std::make_shared<gather_round_state>();
  for (std::uint64_t i = 0; i < gather_width; ++i)
    st->workers.push_back(spawn_increment_server(rt));
  st->rounds = rounds;
  st->done = std::make_shared<std::promise<std::uint64_t>>();
  auto result = st->done->get_future();
  stopwatch sw;
  auto client = troupe::spawn_mailbox<start>(rt, {}, [st](auto* self) {
                  return troupe::handlers{[self, st](start&) { gather_round(self, st); }};
                }).value();
  check(static_cast<bool>(client.send(start{})), "fan_out_gather: client refused start");
  auto replies = await_done(result, "fan_out_gather: never finished");
  double seconds = sw.seconds();
  check(replies == n, "fan_out_gather: wrong number of replies");
  for (auto& w : st->workers)
    caf::anon_send_exit(w.actor(), caf::exit_reason::user_shutdown);
  report(system_name, "fan_out_gather", n, seconds, "replies/s", {{"fan_out", gather_width}});
}

struct workload {
  std::string_view name;
  void (*run)();
};

constexpr workload workloads[] = {
    {"ping_pong", bench_ping_pong},
    {"fan_in", bench_fan_in},
    {"request_response", bench_request_response},
    {"fan_out_gather", bench_fan_out_gather},
};

} // namespace

int main(int argc, char** argv) {
  std::vector<const workload*> selected;
  for (int i = 1; i < argc; ++i) {
    const workload* found = nullptr;
    for (const auto& w : workloads)
      if (w.name == argv[i])
        found = &w;
    if (found == nullptr) {
      std::fprintf(stderr, "unknown or not yet implemented workload '%s'\n", argv[i]);
      return usage_exit_code;
    }
    selected.push_back(found);
  }
  if (selected.empty())
    for (const auto& w : workloads)
      selected.push_back(&w);
  scale();
  for (const auto* w : selected)
    w->run();
  return 0;
}
