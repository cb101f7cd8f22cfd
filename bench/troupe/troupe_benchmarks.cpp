// Troupe's side of the shared workloads (../../shared bench spec, see bench/README.md): the
// same sizes as the raw-CAF twins in bench/caf, one JSON line per workload on stdout, each
// checking its own result and exiting non-zero when it is wrong.
//
//   troupe_benchmarks [workload...]      (default: every workload implemented here)

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <exception>
#include <future>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <type_traits>
#include <unistd.h>
#include <vector>

#include <cstdlib>
#include <new>

#include "common/bench_report.hpp"
#include "common/server_process.hpp"
#include "troupe/distribution.hpp"
#include "troupe/troupe.hpp"

using namespace troupe::bench;
using namespace std::chrono_literals;

namespace {

constexpr std::string_view system_name = "troupe";

// -- allocation accounting ---------------------------------------------------------------------
// The request workloads report the bytes allocated per request (all threads, while they run):
// the replaced operator new below adds to this counter only while counting is on.

std::atomic<bool> counting_allocations{false};
std::atomic<std::uint64_t> allocated_bytes{0};

struct allocation_window {
  allocation_window() {
    allocated_bytes.store(0);
    counting_allocations.store(true);
  }
  ~allocation_window() { counting_allocations.store(false); }
  [[nodiscard]] static double per(std::uint64_t n) {
    return static_cast<double>(allocated_bytes.load()) / static_cast<double>(n);
  }
};

troupe::runtime_config bench_config() {
  troupe::runtime_config cfg;
  cfg.workers = 2;
  // TROUPE_SCHEDULER=caf_stealing (and the other TROUPE_* variables) compare policies.
  if (auto err = cfg.apply_environment(environ))
    check(false, "invalid TROUPE_* environment");
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

double fan_in_seconds(troupe::runtime_config cfg, std::uint64_t n) {
  const std::uint64_t first = n - n / 2;
  const std::uint64_t second = n / 2;
  auto triangle = [](std::uint64_t k) { return k == 0 ? 0 : k * (k - 1) / 2; };
  troupe::runtime rt{cfg};
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
  return seconds;
}

void bench_fan_in() {
  const std::uint64_t n = scaled(10'000'000);
  report(system_name, "fan_in", n, fan_in_seconds(bench_config(), n), "msgs/s");
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

double ping_pong_seconds(troupe::runtime_config cfg, std::uint64_t n) {
  troupe::runtime rt{cfg};
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
  return seconds;
}

void bench_ping_pong() {
  const std::uint64_t n = scaled(1'000'000);
  report(system_name, "ping_pong", n, ping_pong_seconds(bench_config(), n), "round_trips/s");
}

// ping_pong with coroutine handlers (troupe::task<>): the cost of starting a handler coroutine.
void bench_ping_pong_coro() {
  const std::uint64_t n = scaled(1'000'000);
  troupe::runtime rt{bench_config()};
  auto done = std::make_shared<std::promise<std::uint64_t>>();
  auto result = done->get_future();
  auto pong = troupe::spawn_mailbox<serve, ping_msg>(rt, {}, [](auto* self) {
                auto peer = std::make_shared<troupe::mailbox<pong_msg>>();
                return troupe::handlers{
                    [peer](serve& s) { *peer = std::move(s.peer); },
                    [self, peer](ping_msg p) -> troupe::task<> {
                      peer->send(self, pong_msg{p.x});
                      co_return;
                    },
                };
              }).value();
  auto ping = troupe::spawn_mailbox<pong_msg>(rt, {}, [pong, n, done](auto* self) {
                return troupe::handlers{[self, pong, n, done](pong_msg p) -> troupe::task<> {
                  if (p.x == n) {
                    done->set_value(p.x);
                    self->quit();
                    co_return;
                  }
                  pong.send(self, ping_msg{p.x + 1});
                }};
              }).value();
  check(static_cast<bool>(pong.send(serve{ping})), "ping_pong_coro: could not connect");
  allocation_window window;
  stopwatch sw;
  check(static_cast<bool>(pong.send(ping_msg{1})), "ping_pong_coro: first ping refused");
  auto round_trips = await_done(result, "ping_pong_coro: never finished");
  double seconds = sw.seconds();
  check(round_trips == n, "ping_pong_coro: wrong number of round trips");
  report(system_name, "ping_pong_coro", n, seconds, "round_trips/s",
         {{"bytes_per_round_trip", allocation_window::per(n)}});
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

// The client's state lives once, in its handler; each continuation carries a pointer to it and
// the value, as the peers' client loops borrow their server handle rather than copying it per
// request. A continuation runs only while the client lives (a terminated actor's outstanding
// requests are forgotten), so the pointer never outlives the state.
template <class Self, class Timeout>
struct rr_client {
  Self* self;
  increment_server server;
  std::uint64_t n;
  Timeout timeout;
  std::shared_ptr<std::promise<std::uint64_t>> done;

  void next(std::uint64_t x) {
    troupe::request(self, server, increment{x}, timeout)
        .then(
            [this, x](std::uint64_t y) {
              check(y == x + 1, "request_response: wrong reply");
              if (y == n) {
                done->set_value(y);
                self->quit();
              } else {
                next(y);
              }
            },
            [](caf::error) { check(false, "request_response: request failed"); });
  }
};

// `timeout`: caf::infinite for the spec's workload; a finite one measures what a deadline per
// request costs (request_response_timed).
template <class Timeout>
void run_request_response(const char* name, Timeout timeout) {
  const std::uint64_t n = scaled(1'000'000);
  troupe::runtime rt{bench_config()};
  auto server = spawn_increment_server(rt);
  auto done = std::make_shared<std::promise<std::uint64_t>>();
  auto result = done->get_future();
  auto client =
      troupe::spawn_mailbox<start>(rt, {}, [server, n, timeout, done](auto* self) {
        using client_state = rr_client<std::remove_pointer_t<decltype(self)>, Timeout>;
        auto state = std::make_shared<client_state>(client_state{self, server, n, timeout, done});
        return troupe::handlers{[state](start&) { state->next(0); }};
      }).value();
  allocation_window window;
  stopwatch sw;
  check(static_cast<bool>(client.send(start{})), "request_response: client refused start");
  auto replies = await_done(result, "request_response: never finished");
  double seconds = sw.seconds();
  check(replies == n, "request_response: wrong number of replies");
  caf::anon_send_exit(server.actor(), caf::exit_reason::user_shutdown);
  report(system_name, name, n, seconds, "requests/s",
         {{"bytes_per_request", allocation_window::per(n)}});
}

void bench_request_response() {
  run_request_response("request_response", caf::infinite);
}

// Every request carries a 5 s deadline (none expires): the cost of the actor's deadline queue.
void bench_request_response_timed() {
  run_request_response("request_response_timed", std::chrono::seconds{5});
}

// The same requests awaited in one coroutine handler: one suspension per request.
void bench_request_response_coro() {
  const std::uint64_t n = scaled(1'000'000);
  troupe::runtime rt{bench_config()};
  auto server = spawn_increment_server(rt);
  auto done = std::make_shared<std::promise<std::uint64_t>>();
  auto result = done->get_future();
  auto client = troupe::spawn_mailbox<start>(rt, {}, [server, n, done](auto* self) {
                  return troupe::handlers{[=](start) -> troupe::task<> {
                    std::uint64_t x = 0;
                    while (x < n) {
                      auto y = co_await troupe::coro::request(server, increment{x}, caf::infinite);
                      check(y && *y == x + 1, "request_response_coro: wrong reply");
                      x = *y;
                    }
                    done->set_value(x);
                    self->quit();
                  }};
                }).value();
  allocation_window window;
  stopwatch sw;
  check(static_cast<bool>(client.send(start{})), "request_response_coro: client refused start");
  auto replies = await_done(result, "request_response_coro: never finished");
  double seconds = sw.seconds();
  check(replies == n, "request_response_coro: wrong number of replies");
  caf::anon_send_exit(server.actor(), caf::exit_reason::user_shutdown);
  report(system_name, "request_response_coro", n, seconds, "requests/s",
         {{"bytes_per_request", allocation_window::per(n)}});
}

// -- remote_request_response -----------------------------------------------------------------
// request_response across processes over loopback: the server process publishes the increment
// mailbox on a node, the client's Troupe actor chains its requests through a remote_mailbox.

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, increment& x) {
  return f(caf::meta::type_name("increment"), x.x);
}

troupe::network_setup remote_bench_network() {
  troupe::network_setup net;
  net.announce<increment>("increment");
  return net;
}

using remote_increment = troupe::remote_mailbox<increment>;

template <class Self>
void remote_next(Self* self, const remote_increment& server, std::uint64_t x, std::uint64_t n,
                 const std::shared_ptr<std::promise<std::uint64_t>>& done) {
  server.request(self, increment{x}, 30s)
      .then(
          [=](std::uint64_t y) {
            check(y == x + 1, "remote_request_response: wrong reply");
            if (y == n) {
              done->set_value(y);
              self->quit();
            } else {
              remote_next(self, server, y, n, done);
            }
          },
          [](caf::error) { check(false, "remote_request_response: request failed"); });
}

void bench_remote_request_response() {
  const std::uint64_t n = scaled(100'000);
  troupe::bench::server_process server{[](const std::function<void(uint16_t)>& ready) {
    auto net = remote_bench_network();
    troupe::runtime rt{bench_config(), net.customizer()};
    auto node = troupe::node::start(rt, net);
    check(static_cast<bool>(node), "remote_request_response: the server node did not start");
    auto mailbox = spawn_increment_server(rt);
    auto port = node->publish_at(mailbox, 0);
    check(static_cast<bool>(port), "remote_request_response: publish failed");
    ready(*port);
  }};
  auto net = remote_bench_network();
  troupe::runtime rt{bench_config(), net.customizer()};
  auto node = troupe::node::start(rt, net);
  check(static_cast<bool>(node), "remote_request_response: the client node did not start");
  auto remote = node->connect<increment>("127.0.0.1", server.port());
  check(static_cast<bool>(remote), "remote_request_response: connect failed");
  auto done = std::make_shared<std::promise<std::uint64_t>>();
  auto result = done->get_future();
  auto client = troupe::spawn_mailbox<start>(rt, {}, [server = *remote, n, done](auto* self) {
                  return troupe::handlers{[=](start&) { remote_next(self, server, 0, n, done); }};
                }).value();
  stopwatch sw;
  check(static_cast<bool>(client.send(start{})), "remote_request_response: client refused start");
  auto replies = await_done(result, "remote_request_response: never finished");
  double seconds = sw.seconds();
  check(replies == n, "remote_request_response: wrong number of replies");
  report(system_name, "remote_request_response", n, seconds, "requests/s");
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
  using ask = decltype(troupe::request(self, st->workers[0], increment{0}, caf::infinite));
  std::vector<ask> reqs;
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

// fan_out_gather in coroutine form: one task handler sends each round's requests together and
// awaits them with coro::gather over a vector (join_all).
void bench_fan_out_gather_coro() {
  const std::uint64_t rounds = std::max<std::uint64_t>(1, scaled(1'000'000) / gather_width);
  const std::uint64_t n = rounds * gather_width;
  troupe::runtime rt{bench_config()};
  std::vector<increment_server> workers;
  for (std::uint64_t i = 0; i < gather_width; ++i)
    workers.push_back(spawn_increment_server(rt));
  auto done = std::make_shared<std::promise<std::uint64_t>>();
  auto result = done->get_future();
  auto client =
      troupe::spawn_mailbox<start>(rt, {}, [workers, rounds, done](auto* self) {
        return troupe::handlers{[=](start) -> troupe::task<> {
          std::uint64_t total = 0;
          using ask = decltype(troupe::coro::request(workers[0], increment{0}, caf::infinite));
          for (std::uint64_t round = 0; round < rounds; ++round) {
            const std::uint64_t base = round * gather_width;
            std::vector<ask> asks;
            asks.reserve(gather_width);
            for (std::uint64_t i = 0; i < gather_width; ++i)
              asks.push_back(troupe::coro::request(workers[i], increment{base + i}, caf::infinite));
            auto replies = co_await troupe::coro::gather(std::move(asks));
            std::uint64_t sum = 0;
            for (auto& r : replies) {
              check(static_cast<bool>(r), "fan_out_gather_coro: a request failed");
              sum += *r;
            }
            check(sum == gather_width * base + gather_width * (gather_width + 1) / 2,
                  "fan_out_gather_coro: wrong sum of gathered replies");
            total += replies.size();
          }
          done->set_value(total);
          self->quit();
        }};
      }).value();
  stopwatch sw;
  check(static_cast<bool>(client.send(start{})), "fan_out_gather_coro: client refused start");
  auto replies = await_done(result, "fan_out_gather_coro: never finished");
  double seconds = sw.seconds();
  check(replies == n, "fan_out_gather_coro: wrong number of replies");
  for (auto& w : workers)
    caf::anon_send_exit(w.actor(), caf::exit_reason::user_shutdown);
  report(system_name, "fan_out_gather_coro", n, seconds, "replies/s", {{"fan_out", gather_width}});
}

// -- spawn -------------------------------------------------------------------------------------
// One actor spawns n typed mailbox actors (as users write them: troupe::spawn_mailbox) from a
// single handler (no window); each tells its spawner it started and then stays alive, idle.
// Then all n are stopped by closing their mailboxes. The spawner is a typed mailbox too, so a
// child's "started" is a Troupe message, as a Troupe user would write it.

struct poke {};
using idle_mailbox = troupe::mailbox<poke>;

struct spawn_children {};
struct child_started {};
struct stop_children {};
using spawner_mailbox = troupe::mailbox<spawn_children, child_started, stop_children>;

idle_mailbox spawn_idle_child(troupe::runtime& rt, const spawner_mailbox& parent) {
  return troupe::spawn_mailbox<poke>(rt, {},
                                     [parent](auto* self) {
                                       parent.send(self, child_started{});
                                       return troupe::handlers{[](poke&) {}};
                                     })
      .value();
}

struct spawner_state {
  std::vector<idle_mailbox> children;
  std::uint64_t started = 0;
  // Set before spawn_children is sent: the children's messages go to it.
  std::optional<spawner_mailbox> me;
};

void bench_spawn() {
  const std::uint64_t n = scaled(1'000'000);
  troupe::runtime rt{bench_config()};
  auto all_started = std::make_shared<std::promise<std::uint64_t>>();
  auto started = all_started->get_future();
  auto baseline = rt.system().registry().running();
  auto rss_before = rss_bytes();
  stopwatch sw;
  auto st = std::make_shared<spawner_state>();
  auto spawner = troupe::spawn_mailbox<spawn_children, child_started,
                                       stop_children>(rt, {}, [n, all_started, st, &rt](auto*) {
                   return troupe::handlers{
                       [n, st, &rt](spawn_children&) {
                         st->children.reserve(n);
                         for (std::uint64_t i = 0; i < n; ++i)
                           st->children.emplace_back(spawn_idle_child(rt, *st->me));
                       },
                       [n, st, all_started](child_started&) {
                         if (++st->started == n)
                           all_started->set_value(st->started);
                       },
                       [st](stop_children&) {
                         // Closing a child's mailbox stops it once it has handled what was queued
                         // (as a Tokio task ends when its channel's senders are gone): no CAF exit
                         // message.
                         for (auto& child : st->children)
                           child.close();
                         st->children.clear();
                       },
                   };
                 }).value();
  st->me = spawner;
  check(static_cast<bool>(spawner.send(spawn_children{})), "spawn: the spawner refused to start");
  auto count = await_done(started, "spawn: children never all started");
  double spawn_seconds = sw.seconds();
  auto rss_alive = rss_bytes();
  stopwatch stop_sw;
  check(static_cast<bool>(spawner.send(stop_children{})), "spawn: the spawner refused to stop");
  rt.system().registry().await_running_count_equal(baseline + 1); // only the spawner is left
  double stop_seconds = stop_sw.seconds();
  check(count == n, "spawn: wrong number of started actors");
  st->me.reset(); // the spawner's handle to itself
  caf::anon_send_exit(spawner.actor(), caf::exit_reason::user_shutdown);
  auto growth = rss_alive > rss_before ? rss_alive - rss_before : 0;
  report(system_name, "spawn", n, spawn_seconds + stop_seconds, "actors/s",
         {{"bytes_per_actor", static_cast<double>(growth) / static_cast<double>(n)},
          {"rss_bytes", rss_alive},
          {"spawn_seconds", std::round(spawn_seconds * 1e6) / 1e6},
          {"stop_seconds", std::round(stop_seconds * 1e6) / 1e6},
          {"spawner", "one typed mailbox handler, no window"},
          {"actor", "typed mailbox (troupe::spawn_mailbox)"}});
}

// -- actor_churn -------------------------------------------------------------------------------
// One creator (a Troupe actor) creates n short-lived typed mailbox actors, at most
// actor_churn_window alive at once: each gets one request carrying its index, replies it and
// ends; the creator makes the next one whenever a reply comes back. The replies must sum to
// n(n-1)/2.

struct churn_index {
  std::uint64_t i;
  using reply_type = std::uint64_t;
};

struct churn_state {
  std::uint64_t n = 0;
  std::uint64_t next = 0;
  std::uint64_t replies = 0;
  std::uint64_t sum = 0;
  std::shared_ptr<std::promise<std::pair<std::uint64_t, std::uint64_t>>> done;
};

template <class Self>
void churn_create_next(Self* self, troupe::runtime& rt, const std::shared_ptr<churn_state>& st) {
  auto i = st->next++;
  auto child = troupe::spawn_mailbox<churn_index>(rt, {}, [](auto* me) {
                 return troupe::handlers{[me](churn_index& m) {
                   me->quit();
                   return m.i;
                 }};
               }).value();
  troupe::request(self, child, churn_index{i}, caf::infinite)
      .then(
          [self, &rt, st](std::uint64_t r) {
            st->sum += r;
            if (++st->replies == st->n) {
              st->done->set_value({st->replies, st->sum});
              self->quit();
            } else if (st->next < st->n) {
              churn_create_next(self, rt, st);
            }
          },
          [](caf::error) { check(false, "actor_churn: a request failed"); });
}

void bench_actor_churn() {
  const std::uint64_t n = scaled(1'000'000);
  troupe::runtime rt{bench_config()};
  auto st = std::make_shared<churn_state>();
  st->n = n;
  st->done = std::make_shared<std::promise<std::pair<std::uint64_t, std::uint64_t>>>();
  auto result = st->done->get_future();
  auto creator = troupe::spawn_mailbox<start>(rt, {}, [st, &rt](auto* self) {
                   return troupe::handlers{[self, st, &rt](start&) {
                     while (st->next < std::min(st->n, actor_churn_window))
                       churn_create_next(self, rt, st);
                   }};
                 }).value();
  stopwatch sw;
  check(static_cast<bool>(creator.send(start{})), "actor_churn: creator refused start");
  auto [replies, sum] = await_done(result, "actor_churn: never finished");
  double seconds = sw.seconds();
  check(replies == n && sum == n * (n - 1) / 2, "actor_churn: wrong replies or sum");
  report(system_name, "actor_churn", n, seconds, "actors/s",
         {{"peak_rss_bytes", peak_rss_bytes()},
          {"window", actor_churn_window},
          {"actor", "typed mailbox (troupe::spawn_mailbox), one request, quit"}});
}

// -- broadcast ---------------------------------------------------------------------------------
// One publisher publishes n messages to a topic with 16 subscribers; done when every subscriber
// has seen all n. The topic keeps one shared ring (capacity 1024) with a cursor per subscriber;
// the backpressure policy makes the publisher wait for the slowest instead of letting it lag.

constexpr std::uint64_t broadcast_subscribers = 16;

struct subscribe_now {};

void bench_broadcast() {
  const std::uint64_t msgs = scaled(1'000'000);
  const std::uint64_t n = msgs * broadcast_subscribers;
  troupe::runtime rt{bench_config()};
  auto topic = troupe::make_topic<std::uint64_t>(
                   rt, troupe::topic_options{.capacity = 1024,
                                             .on_lag = troupe::lag_policy::backpressure,
                                             .name = "bench"})
                   .value();
  struct result {
    std::uint64_t received = 0;
    std::uint64_t sum = 0;
  };
  std::vector<std::future<result>> results;
  std::vector<troupe::mailbox<subscribe_now>> subscribers;
  for (std::uint64_t i = 0; i < broadcast_subscribers; ++i) {
    auto done = std::make_shared<std::promise<result>>();
    results.push_back(done->get_future());
    subscribers.push_back(
        troupe::spawn_mailbox<subscribe_now>(rt, {}, [topic, done, msgs](auto* self) {
          return troupe::handlers{[self, topic, done, msgs](subscribe_now&) {
            auto st = std::make_shared<result>();
            auto err = topic.subscribe(
                self,
                [self, st, done, msgs](const std::uint64_t& x) {
                  st->sum += x;
                  if (++st->received == msgs) {
                    done->set_value(*st);
                    self->quit();
                  }
                },
                [](troupe::lagged) { check(false, "broadcast: a subscriber lagged"); });
            check(!err, "broadcast: subscribe failed");
          }};
        }).value());
  }
  for (auto& s : subscribers)
    check(static_cast<bool>(s.send(subscribe_now{})), "broadcast: subscriber refused");
  while (topic.metrics().subscribers < broadcast_subscribers)
    std::this_thread::yield(); // set-up only, before the clock starts
  stopwatch sw;
  for (std::uint64_t i = 0; i < msgs; ++i)
    topic.publish(i);
  for (auto& f : results) {
    auto r = await_done(f, "broadcast: a subscriber never finished");
    check(r.received == msgs, "broadcast: wrong number of messages");
    check(r.sum == msgs * (msgs - 1) / 2, "broadcast: wrong payload sum");
  }
  double seconds = sw.seconds();
  report(system_name, "broadcast", n, seconds, "deliveries/s",
         {{"msgs", msgs}, {"subscribers", broadcast_subscribers}, {"ring_capacity", 1024}});
}

// -- supervisor_restart -----------------------------------------------------------------------
// A one_for_one supervisor's only child crashes (its handler throws, as in the CAF twin) on
// the message its factory sends it; the child is what a Troupe user writes, a typed mailbox
// actor (the CAF twin's is CAF's event-based actor); the supervisor restarts it; n crash/restart
// cycles, each one the restart after the observed crash. The intensity allows all n within the
// period, and its check is O(1) however many restarts the window holds.

struct crash_request {};

void bench_supervisor_restart() {
  const std::uint64_t n = scaled(100'000);
  troupe::runtime rt{bench_config()};
  auto done = std::make_shared<std::promise<std::uint64_t>>();
  auto result = done->get_future();
  auto starts = std::make_shared<std::uint64_t>(0); // only touched by the supervisor
  troupe::child_spec child;
  child.id = "crasher";
  child.start = [n, done, starts](const troupe::child_context& ctx) {
    auto mb = troupe::spawn_mailbox<crash_request>(ctx.rt, {}, [](auto*) {
      return troupe::handlers{[](crash_request&) { throw std::runtime_error("crash requested"); }};
    });
    // The first start and n restarts: the last incarnation stays up.
    if (++*starts <= n)
      check(mb && static_cast<bool>(mb->send(crash_request{})), "supervisor_restart: send failed");
    else
      done->set_value(*starts - 1);
    return troupe::started_child{std::move(mb)};
  };
  troupe::supervisor_spec spec;
  spec.intensity = n + 1;
  spec.period = std::chrono::hours{1};
  spec.children = {child};
  stopwatch sw;
  auto sup = troupe::start_supervisor(rt, spec);
  check(static_cast<bool>(sup), "supervisor_restart: the supervisor did not start");
  auto restarts = await_done(result, "supervisor_restart: timed out");
  double seconds = sw.seconds();
  check(restarts == n, "supervisor_restart: wrong number of restarts");
  auto children = sup->which_children();
  check(children && children->size() == 1 && children->front().restarts == n,
        "supervisor_restart: the supervisor counted a different number of restarts");
  auto trees = rt.topology().at("supervision");
  check(trees.size() == 1 && trees[0].at("children").size() == 1 &&
            trees[0].at("children")[0]
                    .at("last_exit_reason")
                    .get<std::string>()
                    .find("crash requested") != std::string::npos,
        "supervisor_restart: the child did not end with its handler's exception");
  check(!sup->stop(10s), "supervisor_restart: the supervisor did not stop");
  report(system_name, "supervisor_restart", n, seconds, "restarts/s",
         {{"child", "typed mailbox actor whose handler throws"}});
}

// -- worker_pool ------------------------------------------------------------------------------
// n jobs (each sums 100 integers) go through the pool's bounded shared queue (capacity 1024,
// backpressure) to 2 workers. The submitter is a Troupe actor, as the CAF twin's: it submits
// until a job parks on the full queue and continues when that job is queued (its awaiting
// send); the answers come back to it, and it adds up the sums.

struct sum_job {
  std::uint64_t job;
  using reply_type = std::uint64_t;
};

struct feed_jobs {};

// The submitter of worker_pool and worker_pool_posted, a Troupe actor started by feed_jobs. As
// a Tokio submitter does with try_send, then send().await on Full, it submits while the queue
// takes jobs (an empty on_queued); the job a full queue refuses is submitted again with
// on_queued, which parks it and resumes the loop once the queue has taken it.
// `submit(self, job, on_queued)` is the pool call; `all_taken` runs once the queue took job n.
template <class Submit>
troupe::mailbox<feed_jobs> spawn_job_feeder(troupe::runtime& rt, const char* name, std::uint64_t n,
                                            Submit submit, std::function<void()> all_taken) {
  auto feeder = troupe::spawn_mailbox<feed_jobs>(rt, {}, [=](auto* self) {
    auto next = std::make_shared<std::uint64_t>(0); // only touched by this actor
    auto feed = std::make_shared<std::function<void()>>();
    std::weak_ptr<std::function<void()>> weak_feed = feed;
    *feed = [self, n, name, next, submit, all_taken, weak_feed] {
      while (*next < n) {
        auto r = submit(self, sum_job{*next}, std::function<void()>{});
        if (r) {
          ++*next;
          continue;
        }
        check(r.error() == troupe::mailbox_errc::mailbox_full, name);
        auto parked = submit(self, sum_job{(*next)++}, [weak_feed] {
          if (auto f = weak_feed.lock())
            (*f)();
        });
        check(static_cast<bool>(parked), name);
        return;
      }
      all_taken();
    };
    return troupe::handlers{[feed](feed_jobs&) { (*feed)(); }};
  });
  check(static_cast<bool>(feeder), "worker_pool: the submitter did not start");
  return *feeder;
}

void bench_worker_pool() {
  const std::uint64_t n = scaled(1'000'000);
  troupe::runtime rt{bench_config()};
  troupe::pool_options opts;
  opts.workers = 2;
  opts.capacity = 1024;
  auto pool = troupe::spawn_pool<sum_job>(
      rt, opts, [](std::size_t) { return [](sum_job& j) { return worker_pool_job_sum(j.job); }; });
  check(static_cast<bool>(pool), "worker_pool: the pool did not start");
  // Answers run on the pool's workers (submit_async): they only add to these counters.
  struct tally {
    std::atomic<std::uint64_t> total{0};
    std::atomic<std::uint64_t> completed{0};
    std::atomic<std::uint64_t> failed{0};
    std::promise<void> done;
  };
  auto owner = std::make_unique<tally>(); // outlives every job: the pool drains first
  auto* st = owner.get();
  auto finished = st->done.get_future();
  auto answered = [st, n] {
    if (st->completed.fetch_add(1, std::memory_order_acq_rel) + 1 == n)
      st->done.set_value();
  };
  auto on_value = [st, answered](std::uint64_t sum) {
    st->total.fetch_add(sum, std::memory_order_relaxed);
    answered();
  };
  auto on_error = [st, answered](caf::error) {
    st->failed.fetch_add(1, std::memory_order_relaxed);
    answered();
  };
  auto submitter = spawn_job_feeder(
      rt, "worker_pool: a job was refused", n,
      [pool = *pool, on_value, on_error](auto* self, sum_job job, std::function<void()> queued) {
        return pool.submit_async(self, job, on_value, on_error, std::move(queued));
      },
      [] {});
  stopwatch sw;
  submitter.send(feed_jobs{});
  await_done(finished, "worker_pool: timed out");
  double seconds = sw.seconds();
  check(st->failed.load() == 0, "worker_pool: a job failed");
  check(st->total.load() == worker_pool_expected_total(n), "worker_pool: wrong total sum");
  auto m = pool->metrics();
  check(m.completed == n, "worker_pool: the pool counted a different number of jobs");
  check(pool->shutdown(10s).drained, "worker_pool: the pool did not drain");
  report(system_name, "worker_pool", n, seconds, "jobs/s",
         {{"queue_capacity", opts.capacity},
          {"workers", opts.workers},
          {"latency_p50_us", m.latency_p50_us},
          {"latency_p99_us", m.latency_p99_us}});
}

// -- worker_pool, posted ------------------------------------------------------------------------
// The same jobs posted (worker_pool::post): no answers, as the peers' submitters send theirs.
// Each worker adds up its own jobs' sums, and the pool's shutdown (it drains first) ends the
// run, as the peers end theirs by joining their workers. Reported as "worker_pool_posted", with
// "peer_bench" naming the peers' row it compares with (bench/report_table).

void bench_worker_pool_posted() {
  const std::uint64_t n = scaled(1'000'000);
  troupe::runtime rt{bench_config()};
  troupe::pool_options opts;
  opts.workers = 2;
  opts.capacity = 1024;
  // One per worker slot, cache lines apart; each is only touched by its slot's worker.
  struct alignas(64) worker_tally {
    std::uint64_t jobs = 0;
    std::uint64_t total = 0;
  };
  auto tallies = std::make_shared<std::vector<worker_tally>>(opts.workers);
  auto pool = troupe::spawn_pool<sum_job>(rt, opts, [tallies](std::size_t slot) {
    return [t = &(*tallies)[slot]](sum_job& j) {
      auto sum = worker_pool_job_sum(j.job);
      ++t->jobs;
      t->total += sum;
      return sum;
    };
  });
  check(static_cast<bool>(pool), "worker_pool_posted: the pool did not start");
  std::promise<void> all_posted;
  auto posted = all_posted.get_future();
  auto submitter = spawn_job_feeder(
      rt, "worker_pool_posted: a job was refused", n,
      [pool = *pool](auto* self, sum_job job, std::function<void()> queued) {
        return pool.post(self, job, std::move(queued));
      },
      [done = &all_posted] { done->set_value(); });
  stopwatch sw;
  submitter.send(feed_jobs{});
  await_done(posted, "worker_pool_posted: timed out");
  check(pool->shutdown(10s).drained, "worker_pool_posted: the pool did not drain");
  double seconds = sw.seconds();
  std::uint64_t jobs = 0;
  std::uint64_t total = 0;
  for (auto& t : *tallies) {
    jobs += t.jobs;
    total += t.total;
  }
  check(jobs == n, "worker_pool_posted: the workers ran a different number of jobs");
  check(total == worker_pool_expected_total(n), "worker_pool_posted: wrong total sum");
  auto m = pool->metrics();
  check(m.completed == n && m.failed == 0 && m.cancelled == 0,
        "worker_pool_posted: the pool counted a different outcome");
  report(system_name, "worker_pool_posted", n, seconds, "jobs/s",
         {{"queue_capacity", opts.capacity},
          {"workers", opts.workers},
          {"jobs", "posted: no answers, as the peers' worker_pool"},
          {"peer_bench", "worker_pool"}});
}

struct pool_tally {
  std::atomic<std::uint64_t> total{0};
  std::atomic<std::uint64_t> completed{0};
  std::promise<void> done;
};

// -- worker_pool_skew -------------------------------------------------------------------------
// Troupe only: the same pool with balanced and with round-robin dispatch on a skewed load —
// every 100th job costs 100 units, the others 1 — so that round robin puts every slow job on
// the same worker. Two shapes:
//  - cpu: 2 workers, jobs burn CPU (a dependency chain). On 2 cores the best balancing can
//    reach is 0.995 / 1.49 = 0.67 of round robin's time.
//  - io: 4 workers on the blocking pool, jobs wait (50 us per unit), as jobs that call out do;
//    the ideal is 0.4975 / 1.24 = 0.40.

struct skew_job {
  std::uint64_t units;
  bool io;
  using reply_type = std::uint64_t;
};

std::uint64_t run_skew_job(const skew_job& j) {
  if (j.io) {
    std::this_thread::sleep_for(std::chrono::microseconds{50 * j.units});
    return 1;
  }
  std::uint64_t x = j.units;
  for (std::uint64_t i = 0; i < j.units * 400; ++i)
    x = x * 6364136223846793005ULL + 1442695040888963407ULL; // a dependency chain: no shortcut
  return x | 1;
}

double run_skew(troupe::dispatch_policy dispatch, std::uint64_t n, bool io) {
  troupe::runtime rt{bench_config()};
  troupe::pool_options opts;
  opts.workers = io ? 4 : 2;
  opts.capacity = 1024;
  opts.dispatch = dispatch;
  opts.run_on_blocking_pool = io;
  auto pool = troupe::spawn_pool<skew_job>(
      rt, opts, [](std::size_t) { return [](skew_job& j) { return run_skew_job(j); }; });
  check(static_cast<bool>(pool), "worker_pool_skew: the pool did not start");
  auto tally = std::make_shared<pool_tally>();
  auto finished = tally->done.get_future();
  stopwatch sw;
  for (std::uint64_t i = 0; i < n; ++i) {
    auto err = pool->submit_async(
        skew_job{i % 100 == 0 ? 100u : 1u, io},
        [tally, n](std::uint64_t r) {
          tally->total.fetch_add(r & 1, std::memory_order_relaxed);
          if (tally->completed.fetch_add(1, std::memory_order_acq_rel) + 1 == n)
            tally->done.set_value();
        },
        [](caf::error) { check(false, "worker_pool_skew: a job failed"); });
    check(!err, "worker_pool_skew: a job was refused");
  }
  await_done(finished, "worker_pool_skew: timed out");
  double seconds = sw.seconds();
  check(tally->total.load() == n, "worker_pool_skew: wrong number of results");
  pool->shutdown(10s);
  return seconds;
}

void bench_worker_pool_skew() {
  const std::uint64_t n = scaled(200'000);
  const std::uint64_t n_io = std::max<std::uint64_t>(scaled(4'000), 400);
  auto cpu_balanced = run_skew(troupe::dispatch_policy::balanced, n, false);
  auto cpu_rr = run_skew(troupe::dispatch_policy::round_robin, n, false);
  auto io_balanced = run_skew(troupe::dispatch_policy::balanced, n_io, true);
  auto io_rr = run_skew(troupe::dispatch_policy::round_robin, n_io, true);
  report(system_name, "worker_pool_skew", n, cpu_balanced, "jobs/s",
         {{"cpu_2_workers_balanced_over_round_robin", cpu_balanced / cpu_rr},
          {"io_4_workers_balanced_over_round_robin", io_balanced / io_rr},
          {"io_jobs", n_io}});
}

// -- introspection ----------------------------------------------------------------------------
// Troupe only: ping_pong with the topology registry on (the default) and off, alternating,
// best of 3 each; reports on/off throughput (target >= 0.95: registration happens at spawn and
// exit, never per message).

void bench_introspection() {
  const std::uint64_t n = scaled(1'000'000);
  const std::uint64_t msgs = scaled(10'000'000);
  double ping_on = 1e9, ping_off = 1e9, fan_on = 1e9, fan_off = 1e9;
  for (int round = 0; round < 3; ++round) {
    auto on = bench_config();
    on.introspection = true;
    auto off = bench_config();
    off.introspection = false;
    ping_on = std::min(ping_on, ping_pong_seconds(on, n));
    ping_off = std::min(ping_off, ping_pong_seconds(off, n));
    fan_on = std::min(fan_on, fan_in_seconds(on, msgs));
    fan_off = std::min(fan_off, fan_in_seconds(off, msgs));
  }
  report(system_name, "introspection", n, ping_on, "round_trips/s",
         {{"ping_pong_on_over_off", ping_off / ping_on}, {"fan_in_on_over_off", fan_off / fan_on}});
}

// -- events -----------------------------------------------------------------------------------
// Troupe only: the spawn/exit path (rt.spawn of an actor that quits at once; the tracker
// publishes actor.spawned and actor.exited) without a subscriber, where each emit site costs
// one relaxed load of wants(), and with a counting subscriber at debug level (both events of
// every actor built, numbered and delivered). Alternating, best of 3 each; checks that the
// subscriber saw exactly 2 events per actor and that nothing was published without it.

double spawn_exit_seconds(std::uint64_t n, bool subscribed) {
  troupe::runtime rt{bench_config()};
  auto counted = std::make_shared<std::atomic<std::uint64_t>>(0);
  troupe::event_subscription sub;
  if (subscribed)
    sub = rt.events().subscribe(
        [counted](const troupe::event&) { counted->fetch_add(1, std::memory_order_relaxed); },
        troupe::event_level::debug);
  auto baseline = rt.system().registry().running();
  stopwatch sw;
  for (std::uint64_t i = 0; i < n; ++i)
    rt.spawn([](caf::event_based_actor* self) { self->quit(); });
  rt.system().registry().await_running_count_equal(baseline);
  double seconds = sw.seconds();
  if (subscribed) {
    // The last exit events may still be on their way after the registry's count dropped.
    auto until = std::chrono::steady_clock::now() + 60s;
    while (counted->load() < 2 * n && std::chrono::steady_clock::now() < until)
      std::this_thread::yield();
    seconds = sw.seconds();
    check(counted->load() == 2 * n, "events: the subscriber missed events");
  } else {
    check(rt.events().published() == 0, "events: published without a subscriber");
  }
  return seconds;
}

void bench_events() {
  const std::uint64_t n = scaled(200'000);
  double without = 1e9, with = 1e9;
  for (int round = 0; round < 3; ++round) {
    without = std::min(without, spawn_exit_seconds(n, false));
    with = std::min(with, spawn_exit_seconds(n, true));
  }
  report(system_name, "events", n, without, "actors/s",
         {{"with_subscriber_actors_per_s", static_cast<double>(n) / with},
          {"with_over_without", without / with},
          {"ns_per_actor_without", without * 1e9 / static_cast<double>(n)},
          {"ns_per_actor_with", with * 1e9 / static_cast<double>(n)}});
}

// -- topology_dump ----------------------------------------------------------------------------
// Troupe only: runtime::topology() of 100,000 live actors (target: under 1 s).

void bench_topology_dump() {
  const std::uint64_t n = scaled(100'000);
  troupe::runtime rt{bench_config()};
  std::vector<caf::actor> actors;
  actors.reserve(n);
  for (std::uint64_t i = 0; i < n; ++i)
    actors.push_back(rt.spawn([]() -> caf::behavior { return {[](int) {}}; }));
  stopwatch sw;
  auto dump = rt.topology();
  double seconds = sw.seconds();
  check(dump.at("actors").size() == n, "topology_dump: the dump misses actors");
  for (auto& a : actors)
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  report(system_name, "topology_dump", n, seconds, "actors/s", {{"dump_seconds", seconds}});
}

// -- idle_cpu ----------------------------------------------------------------------------------

void bench_idle_cpu() {
  troupe::runtime rt{bench_config()};
  report_idle_cpu(system_name, std::max(0.5, 5.0 * scale()));
}

constexpr workload workloads[] = {
    {"ping_pong", bench_ping_pong},
    {"fan_in", bench_fan_in},
    {"request_response", bench_request_response},
    {"request_response_timed", bench_request_response_timed},
    {"request_response_coro", bench_request_response_coro},
    {"ping_pong_coro", bench_ping_pong_coro},
    {"fan_out_gather_coro", bench_fan_out_gather_coro},
    {"remote_request_response", bench_remote_request_response},
    {"fan_out_gather", bench_fan_out_gather},
    {"spawn", bench_spawn},
    {"actor_churn", bench_actor_churn},
    {"broadcast", bench_broadcast},
    {"supervisor_restart", bench_supervisor_restart},
    {"worker_pool", bench_worker_pool},
    {"worker_pool_posted", bench_worker_pool_posted},
    {"worker_pool_skew", bench_worker_pool_skew},
    {"introspection", bench_introspection},
    {"events", bench_events},
    {"topology_dump", bench_topology_dump},
    {"idle_cpu", bench_idle_cpu},
};

} // namespace

// Replaced so that the request workloads can count their allocations (see allocation_window).
// Not inlined: g++ would otherwise pair malloc/free with new/delete at the call sites and warn.
[[gnu::noinline]] void* operator new(std::size_t size) {
  if (counting_allocations.load(std::memory_order_relaxed))
    allocated_bytes.fetch_add(size, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size))
    return p;
  throw std::bad_alloc{};
}
[[gnu::noinline]] void operator delete(void* p) noexcept {
  std::free(p);
}
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}

int main(int argc, char** argv) {
  return run_workloads(workloads, argc, argv);
}
