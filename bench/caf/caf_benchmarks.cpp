// Raw-CAF 0.17.6 baselines ("twins") of the shared benchmark workloads (bench-spec.md).
//
// Usage: caf_benchmarks [workload...]   (default: all eight, in the spec's order)
// Prints one JSON line per workload on stdout. SCALE (env) scales every base size.
// Each workload runs in its own actor_system with scheduler.max-threads = 2 (policy
// 'stealing'), verifies its own result and exits non-zero when it is wrong.
//
// Build: g++ -std=c++20 -O2 -Wall -Wextra -Werror caf_benchmarks.cpp -o caf_benchmarks
//            -lcaf_io -lcaf_core -pthread
//
// Conventions used by all workloads: the measuring thread owns a caf::scoped_actor; the actors
// under test get its handle and send it a (done_atom, results...) message when they finish,
// which main() picks up with a blocking receive. Nothing sleeps or polls.
#include "../common/bench_report.hpp"
#include "../common/server_process.hpp"

#include "caf/all.hpp"
#include "caf/io/all.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

using troupe::bench::check;
using troupe::bench::report;
using troupe::bench::scaled;
using troupe::bench::stopwatch;

using run_atom = caf::atom_constant<caf::atom("run")>;
using done_atom = caf::atom_constant<caf::atom("done")>;
using crash_atom = caf::atom_constant<caf::atom("crash")>;
using started_atom = caf::atom_constant<caf::atom("started")>;
using job_atom = caf::atom_constant<caf::atom("job")>;

constexpr const char* system_name = "caf";

/// Every workload gets a fresh actor system with at most two worker threads.
class bench_config : public caf::actor_system_config {
public:
  bench_config() {
    set("scheduler.max-threads", 2);
    set("scheduler.policy", caf::atom("stealing"));
  }
};

/// Error handler for request(...).then(...): a failed request is a failed benchmark.
auto fail_on_error(const char* what) {
  return [what](caf::error&) { check(false, what); };
}

/// Blocks the scoped actor until the workload's (done_atom, uint64_t) arrives.
std::uint64_t await_done(caf::scoped_actor& self) {
  std::uint64_t result = 0;
  self->receive([&](done_atom, std::uint64_t x) { result = x; });
  return result;
}

// ---------------------------------------------------------------------------------------------
// ping_pong: two event-based actors bounce one message n times with plain (asynchronous) sends.
// Idiomatic CAF: pong is a stateless behavior whose handler *returns* the reply (CAF sends the
// return value back to the sender as an ordinary message); ping keeps its counter in a
// stateful_actor and answers every pong with the next ping until n round trips are done.
// ---------------------------------------------------------------------------------------------

caf::behavior pong_actor() {
  return {
      [](caf::ping_atom, std::uint64_t x) { return std::make_tuple(caf::pong_atom::value, x); },
  };
}

struct ping_state {
  std::uint64_t received = 0;
};

caf::behavior ping_actor(caf::stateful_actor<ping_state>* self, caf::actor pong, std::uint64_t n,
                         caf::actor listener) {
  return {
      [=](run_atom) { self->send(pong, caf::ping_atom::value, std::uint64_t{1}); },
      [=](caf::pong_atom, std::uint64_t x) {
        auto& st = self->state;
        check(x == st.received + 1, "ping_pong: pong carries the wrong sequence number");
        if (++st.received == n) {
          self->send(listener, done_atom::value, st.received);
          self->quit();
          return;
        }
        self->send(pong, caf::ping_atom::value, x + 1);
      },
  };
}

void bench_ping_pong() {
  const std::uint64_t n = scaled(1'000'000);
  bench_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  auto pong = sys.spawn(pong_actor);
  auto ping = sys.spawn(ping_actor, pong, n, caf::actor_cast<caf::actor>(self));
  stopwatch sw;
  self->send(ping, run_atom::value);
  auto round_trips = await_done(self);
  double seconds = sw.seconds();
  check(round_trips == n, "ping_pong: wrong number of round trips");
  self->send_exit(pong, caf::exit_reason::user_shutdown);
  report(system_name, "ping_pong", n, seconds, "round_trips/s");
}

// ---------------------------------------------------------------------------------------------
// fan_in: two producers send n/2 small messages each to one consumer (mailbox contention).
// Idiomatic CAF: each producer is a function-based actor that sends its share in a plain loop
// from its initialization and then terminates (no behavior); the consumer is a stateful actor
// that counts (and sums, to verify) and reports to the listener once it has seen n messages.
// ---------------------------------------------------------------------------------------------

void fan_in_producer(caf::event_based_actor* self, caf::actor consumer, std::uint64_t count) {
  for (std::uint64_t i = 0; i < count; ++i)
    self->send(consumer, i);
}

struct fan_in_state {
  std::uint64_t received = 0;
  std::uint64_t sum = 0;
};

caf::behavior fan_in_consumer(caf::stateful_actor<fan_in_state>* self, std::uint64_t n,
                              caf::actor listener) {
  return {
      [=](std::uint64_t x) {
        auto& st = self->state;
        st.sum += x;
        if (++st.received == n) {
          self->send(listener, done_atom::value, st.received, st.sum);
          self->quit();
        }
      },
  };
}

void bench_fan_in() {
  const std::uint64_t n = scaled(10'000'000);
  const std::uint64_t first = n - n / 2;
  const std::uint64_t second = n / 2;
  auto triangle = [](std::uint64_t k) { return k == 0 ? 0 : k * (k - 1) / 2; };
  bench_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  auto consumer = sys.spawn(fan_in_consumer, n, caf::actor_cast<caf::actor>(self));
  stopwatch sw;
  sys.spawn(fan_in_producer, consumer, first);
  sys.spawn(fan_in_producer, consumer, second);
  std::uint64_t received = 0;
  std::uint64_t sum = 0;
  self->receive([&](done_atom, std::uint64_t count, std::uint64_t total) {
    received = count;
    sum = total;
  });
  double seconds = sw.seconds();
  check(received == n, "fan_in: consumer saw the wrong number of messages");
  check(sum == triangle(first) + triangle(second), "fan_in: wrong payload sum");
  report(system_name, "fan_in", n, seconds, "msgs/s");
}

// ---------------------------------------------------------------------------------------------
// spawn: one actor spawns n actors; each tells its spawner that it started and then idles.
// Idiomatic CAF: children are function-based actors that send started_atom to their parent from
// their init function and return a (never used) behavior, so they stay alive. The spawner is the
// measuring thread's scoped_actor: it spawns the children in a loop and keeps their strong
// handles (a CAF actor dies when its last handle goes away), receives the n started messages,
// then stops every child with send_exit; main waits for the stop with await_all_actors_done().
//
// Why the scoped_actor and not an event-based spawner: CAF 0.17's work-stealing deque steals
// with double_ended_queue::take_tail(), which scans the victim's whole queue under both locks
// (find_predecessor). An event-based spawner puts all n children on its own worker's queue
// while it is busy, so the other worker steals every child with an O(queue length) scan and
// the run becomes superlinear (measured with an event-based spawner: n = 100k took 6.2 s,
// n = 200k took 52.6 s, so n = 1M is out of reach). Spawns
// (and send_exit) from a scoped_actor go through the coordinator's round-robin central enqueue
// instead, which is how an experienced CAF 0.17 user would drive a mass spawn.
// ---------------------------------------------------------------------------------------------

caf::behavior idle_child(caf::event_based_actor* self, caf::actor parent) {
  self->send(parent, started_atom::value);
  return {
      [](caf::ping_atom) { return caf::pong_atom::value; },
  };
}

void bench_spawn() {
  const std::uint64_t n = scaled(1'000'000);
  bench_config cfg;
  caf::actor_system sys{cfg};
  std::uint64_t started = 0;
  std::uint64_t rss_before = 0;
  std::uint64_t rss_alive = 0;
  double spawn_seconds = 0;
  stopwatch stop_sw;
  {
    caf::scoped_actor self{sys};
    const auto me = caf::actor_cast<caf::actor>(self);
    std::vector<caf::actor> children;
    rss_before = troupe::bench::rss_bytes();
    stopwatch sw;
    children.reserve(n);
    for (std::uint64_t i = 0; i < n; ++i)
      children.emplace_back(self->spawn(idle_child, me));
    std::uint64_t received = 0;
    self->receive_for(received, n)([&](started_atom) { ++started; });
    spawn_seconds = sw.seconds();
    rss_alive = troupe::bench::rss_bytes();
    stop_sw.reset();
    for (auto& child : children)
      self->send_exit(child, caf::exit_reason::user_shutdown);
    children.clear();
  }
  // The scoped actor must be gone first: CAF 0.17.6 counts a live scoped_actor as a running
  // actor (even when constructed as hidden), so await_all_actors_done() would never return.
  sys.await_all_actors_done();
  const double stop_seconds = stop_sw.seconds();
  const double seconds = spawn_seconds + stop_seconds;
  check(started == n, "spawn: wrong number of started actors");
  check(sys.registry().running() == 0, "spawn: actors still running after stop");
  std::uint64_t growth = rss_alive > rss_before ? rss_alive - rss_before : 0;
  report(system_name, "spawn", n, seconds, "actors/s",
         {{"bytes_per_actor", static_cast<double>(growth) / static_cast<double>(n)},
          {"rss_bytes", rss_alive},
          {"spawn_seconds", std::round(spawn_seconds * 1e6) / 1e6},
          {"stop_seconds", std::round(stop_seconds * 1e6) / 1e6}});
}

// ---------------------------------------------------------------------------------------------
// request_response: one client sends n sequential requests to a server that replies x + 1.
// Idiomatic CAF: the server's handler returns x + 1; the client chains
// self->request(server, caf::infinite, x).then(...) so the next request is issued from the
// response handler of the previous one (one outstanding request at a time).
// ---------------------------------------------------------------------------------------------

caf::behavior increment_server() {
  return {
      [](std::uint64_t x) { return x + 1; },
  };
}

void rr_next(caf::event_based_actor* self, const caf::actor& server, std::uint64_t x,
             std::uint64_t n, const caf::actor& listener) {
  self->request(server, caf::infinite, x)
      .then(
          [=](std::uint64_t y) {
            check(y == x + 1, "request_response: wrong reply");
            if (y == n)
              self->send(listener, done_atom::value, y);
            else
              rr_next(self, server, y, n, listener);
          },
          fail_on_error("request_response: request failed"));
}

caf::behavior rr_client(caf::event_based_actor* self, caf::actor server, std::uint64_t n,
                        caf::actor listener) {
  return {
      [=](run_atom) { rr_next(self, server, 0, n, listener); },
  };
}

void bench_request_response() {
  const std::uint64_t n = scaled(1'000'000);
  bench_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  auto server = sys.spawn(increment_server);
  auto client = sys.spawn(rr_client, server, n, caf::actor_cast<caf::actor>(self));
  stopwatch sw;
  self->send(client, run_atom::value);
  auto replies = await_done(self);
  double seconds = sw.seconds();
  check(replies == n, "request_response: wrong number of replies");
  self->send_exit(client, caf::exit_reason::user_shutdown);
  self->send_exit(server, caf::exit_reason::user_shutdown);
  report(system_name, "request_response", n, seconds, "requests/s");
}

// ---------------------------------------------------------------------------------------------
// actor_churn: one creator creates n short-lived actors, at most actor_churn_window alive at
// once; each gets one request carrying its index, replies it and ends (quit in its handler);
// the creator creates the next one from each response handler. The replies sum to n(n-1)/2.
// ---------------------------------------------------------------------------------------------

caf::behavior churn_child(caf::event_based_actor* self) {
  return {
      [self](std::uint64_t i) {
        self->quit();
        return i;
      },
  };
}

struct churn_state {
  std::uint64_t next = 0;
  std::uint64_t replies = 0;
  std::uint64_t sum = 0;
};

void churn_create_next(caf::stateful_actor<churn_state>* self, std::uint64_t n,
                       const caf::actor& listener) {
  auto i = self->state.next++;
  auto child = self->spawn(churn_child);
  self->request(child, caf::infinite, i)
      .then(
          [=](std::uint64_t r) {
            self->state.sum += r;
            if (++self->state.replies == n) {
              self->send(listener, done_atom::value, self->state.replies, self->state.sum);
              self->quit();
            } else if (self->state.next < n) {
              churn_create_next(self, n, listener);
            }
          },
          fail_on_error("actor_churn: a request failed"));
}

caf::behavior churn_creator(caf::stateful_actor<churn_state>* self, std::uint64_t n,
                            caf::actor listener) {
  return {
      [=](run_atom) {
        while (self->state.next < std::min(n, troupe::bench::actor_churn_window))
          churn_create_next(self, n, listener);
      },
  };
}

void bench_actor_churn() {
  const std::uint64_t n = scaled(1'000'000);
  bench_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  auto creator = sys.spawn(churn_creator, n, caf::actor_cast<caf::actor>(self));
  stopwatch sw;
  self->send(creator, run_atom::value);
  std::uint64_t replies = 0;
  std::uint64_t sum = 0;
  self->receive([&](done_atom, std::uint64_t r, std::uint64_t s) {
    replies = r;
    sum = s;
  });
  double seconds = sw.seconds();
  check(replies == n && sum == n * (n - 1) / 2, "actor_churn: wrong replies or sum");
  report(system_name, "actor_churn", n, seconds, "actors/s",
         {{"peak_rss_bytes", troupe::bench::peak_rss_bytes()},
          {"window", troupe::bench::actor_churn_window}});
}

// ---------------------------------------------------------------------------------------------
// remote_request_response: request_response across processes over loopback. The server process
// publishes the increment server with the middleman; the client gets a proxy with
// remote_actor and chains its requests as above.
// ---------------------------------------------------------------------------------------------

void bench_remote_request_response() {
  const std::uint64_t n = scaled(100'000);
  troupe::bench::server_process server{[](const std::function<void(uint16_t)>& ready) {
    bench_config cfg;
    cfg.load<caf::io::middleman>();
    caf::actor_system sys{cfg};
    auto actor = sys.spawn(increment_server);
    auto port = sys.middleman().publish(actor, 0, "127.0.0.1");
    check(static_cast<bool>(port), "remote_request_response: publish failed");
    ready(*port);
    caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
  }};
  bench_config cfg;
  cfg.load<caf::io::middleman>();
  caf::actor_system sys{cfg};
  auto proxy = sys.middleman().remote_actor("127.0.0.1", server.port());
  check(static_cast<bool>(proxy), "remote_request_response: remote_actor failed");
  caf::scoped_actor self{sys};
  auto client = sys.spawn(rr_client, *proxy, n, caf::actor_cast<caf::actor>(self));
  stopwatch sw;
  self->send(client, run_atom::value);
  auto replies = await_done(self);
  double seconds = sw.seconds();
  check(replies == n, "remote_request_response: wrong number of replies");
  self->send_exit(client, caf::exit_reason::user_shutdown);
  report(system_name, "remote_request_response", n, seconds, "requests/s");
}

// ---------------------------------------------------------------------------------------------
// fan_out_gather: a client sends k = 1000 concurrent requests to 1000 workers and gathers all
// replies, repeated n / 1000 rounds. Idiomatic CAF 0.17 (there is no fan_out_request): one
// request(...).then(...) per worker; each response handler adds to the round's state and the
// handler that completes the round (the join) starts the next round.
// ---------------------------------------------------------------------------------------------

constexpr std::uint64_t gather_width = 1000;

struct gather_state {
  std::vector<caf::actor> workers;
  std::uint64_t round = 0;
  std::uint64_t replies_in_round = 0;
  std::uint64_t round_sum = 0;
  std::uint64_t total_replies = 0;
};

void gather_round(caf::stateful_actor<gather_state>* self, std::uint64_t rounds,
                  const caf::actor& listener) {
  auto& st = self->state;
  st.replies_in_round = 0;
  st.round_sum = 0;
  const std::uint64_t base = st.round * gather_width;
  for (std::uint64_t i = 0; i < gather_width; ++i) {
    self->request(st.workers[i], caf::infinite, base + i)
        .then(
            [=](std::uint64_t y) {
              auto& s = self->state;
              s.round_sum += y;
              ++s.total_replies;
              if (++s.replies_in_round < gather_width)
                return;
              // join: all k replies of this round are in; (base+1) + ... + (base+k)
              check(s.round_sum == gather_width * base + gather_width * (gather_width + 1) / 2,
                    "fan_out_gather: wrong sum of gathered replies");
              if (++s.round == rounds)
                self->send(listener, done_atom::value, s.total_replies);
              else
                gather_round(self, rounds, listener);
            },
            fail_on_error("fan_out_gather: request failed"));
  }
}

caf::behavior gather_client(caf::stateful_actor<gather_state>* self,
                            std::vector<caf::actor> workers, std::uint64_t rounds,
                            caf::actor listener) {
  self->state.workers = std::move(workers);
  return {
      [=](run_atom) { gather_round(self, rounds, listener); },
  };
}

void bench_fan_out_gather() {
  const std::uint64_t rounds = std::max<std::uint64_t>(1, scaled(1'000'000) / gather_width);
  const std::uint64_t n = rounds * gather_width;
  bench_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  std::vector<caf::actor> workers;
  workers.reserve(gather_width);
  for (std::uint64_t i = 0; i < gather_width; ++i)
    workers.emplace_back(sys.spawn(increment_server));
  auto client = sys.spawn(gather_client, workers, rounds, caf::actor_cast<caf::actor>(self));
  stopwatch sw;
  self->send(client, run_atom::value);
  auto replies = await_done(self);
  double seconds = sw.seconds();
  check(replies == n, "fan_out_gather: wrong number of replies");
  self->send_exit(client, caf::exit_reason::user_shutdown);
  for (auto& w : workers)
    self->send_exit(w, caf::exit_reason::user_shutdown);
  report(system_name, "fan_out_gather", n, seconds, "replies/s", {{"fan_out", gather_width}});
}

// ---------------------------------------------------------------------------------------------
// broadcast: one publisher publishes n messages to a topic with 16 subscribers.
// Idiomatic CAF 0.17: the topic is a local group (sys.groups().get_local(...)); subscribers are
// spawned directly into it with spawn_in_group; the publisher is a function-based actor that
// sends n messages to the group in a loop. Each subscriber counts (and sums) and reports to the
// listener after n messages, then quits (which leaves the group). n in the JSON line counts
// deliveries (16 * messages), matching the deliveries/s figure.
// ---------------------------------------------------------------------------------------------

constexpr std::uint64_t broadcast_subscribers = 16;

struct subscriber_state {
  std::uint64_t received = 0;
  std::uint64_t sum = 0;
};

caf::behavior broadcast_subscriber(caf::stateful_actor<subscriber_state>* self, std::uint64_t n,
                                   caf::actor listener) {
  return {
      [=](std::uint64_t x) {
        auto& st = self->state;
        st.sum += x;
        if (++st.received == n) {
          self->send(listener, done_atom::value, st.received, st.sum);
          self->quit();
        }
      },
  };
}

void broadcast_publisher(caf::event_based_actor* self, caf::group topic, std::uint64_t n) {
  for (std::uint64_t i = 0; i < n; ++i)
    self->send(topic, i);
}

void bench_broadcast() {
  const std::uint64_t msgs = scaled(1'000'000);
  const std::uint64_t deliveries = msgs * broadcast_subscribers;
  bench_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  auto topic = sys.groups().get_local("bench_topic");
  auto listener = caf::actor_cast<caf::actor>(self);
  for (std::uint64_t i = 0; i < broadcast_subscribers; ++i)
    sys.spawn_in_group(topic, broadcast_subscriber, msgs, listener);
  stopwatch sw;
  sys.spawn(broadcast_publisher, topic, msgs);
  std::uint64_t done = 0;
  std::uint64_t seen = 0;
  bool sums_ok = true;
  const std::uint64_t expected_sum = msgs * (msgs - 1) / 2;
  self->receive_for(done,
                    broadcast_subscribers)([&](done_atom, std::uint64_t count, std::uint64_t sum) {
    seen += count;
    sums_ok = sums_ok && count == msgs && sum == expected_sum;
  });
  double seconds = sw.seconds();
  check(sums_ok, "broadcast: a subscriber saw the wrong messages");
  check(seen == deliveries, "broadcast: wrong number of deliveries");
  report(system_name, "broadcast", deliveries, seconds, "deliveries/s",
         {{"msgs", msgs}, {"subscribers", broadcast_subscribers}});
}

// ---------------------------------------------------------------------------------------------
// supervisor_restart: a supervised child crashes on each message and is restarted; n
// crash/restart cycles, each awaited before the next.
// Idiomatic CAF 0.17 (no supervisor type exists): the parent spawns the child with
// spawn<caf::monitored>, and its down handler is the one_for_one restart strategy: on a
// down_msg carrying an error it spawns a fresh monitored child and sends it the next crash
// message. The child crashes by throwing; its exception handler turns the exception into the
// exit reason (and keeps CAF from printing every crash to stderr).
// ---------------------------------------------------------------------------------------------

caf::behavior crashing_child(caf::event_based_actor* self) {
  self->set_exception_handler(
      [](std::exception_ptr&) -> caf::error { return caf::exit_reason::unhandled_exception; });
  return {
      [](crash_atom) { throw std::runtime_error("crash requested"); },
  };
}

struct supervisor_state {
  caf::actor child;
  std::uint64_t restarts = 0;
};

caf::behavior supervisor_actor(caf::stateful_actor<supervisor_state>* self, std::uint64_t n,
                               caf::actor listener) {
  self->set_down_handler([=](caf::down_msg& dm) {
    auto& st = self->state;
    check(dm.source == st.child.address(), "supervisor_restart: down_msg from unknown actor");
    check(dm.reason == caf::exit_reason::unhandled_exception,
          "supervisor_restart: child terminated with an unexpected reason");
    // one_for_one: restart the crashed child
    st.child = self->spawn<caf::monitored>(crashing_child);
    if (++st.restarts < n) {
      self->send(st.child, crash_atom::value);
      return;
    }
    self->send(listener, done_atom::value, st.restarts);
    self->demonitor(st.child);
    self->send_exit(st.child, caf::exit_reason::user_shutdown);
    self->quit();
  });
  return {
      [=](run_atom) {
        self->state.child = self->spawn<caf::monitored>(crashing_child);
        self->send(self->state.child, crash_atom::value);
      },
  };
}

void bench_supervisor_restart() {
  const std::uint64_t n = scaled(100'000);
  bench_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  auto supervisor = sys.spawn(supervisor_actor, n, caf::actor_cast<caf::actor>(self));
  stopwatch sw;
  self->send(supervisor, run_atom::value);
  auto restarts = await_done(self);
  double seconds = sw.seconds();
  check(restarts == n, "supervisor_restart: wrong number of restarts");
  report(system_name, "supervisor_restart", n, seconds, "restarts/s");
}

// ---------------------------------------------------------------------------------------------
// worker_pool: n jobs (each sums 100 integers) go through a bounded queue of capacity 1024 to
// a pool of 2 workers; the submitter waits while the queue is full.
// Idiomatic CAF 0.17: a caf::actor_pool with 2 workers and the round_robin policy; the
// submitter uses credit-based flow control with request(...).then(...): it keeps at most 1024
// jobs outstanding and submits the next job from the response handler of a finished one. The
// pool's worker mailboxes therefore hold at most 1024 jobs, i.e. they are the bounded queue.
// ---------------------------------------------------------------------------------------------

constexpr std::uint64_t pool_queue_capacity = 1024;
constexpr std::size_t pool_workers = 2;

caf::behavior sum_worker() {
  return {
      [](job_atom, std::uint64_t job) { return troupe::bench::worker_pool_job_sum(job); },
  };
}

struct submitter_state {
  std::uint64_t submitted = 0;
  std::uint64_t completed = 0;
  std::uint64_t total = 0;
};

void submit_job(caf::stateful_actor<submitter_state>* self, const caf::actor& pool, std::uint64_t n,
                const caf::actor& listener) {
  auto job = self->state.submitted++;
  self->request(pool, caf::infinite, job_atom::value, job)
      .then(
          [=](std::uint64_t sum) {
            auto& st = self->state;
            st.total += sum;
            ++st.completed;
            if (st.submitted < n)
              submit_job(self, pool, n, listener); // a slot became free
            else if (st.completed == n)
              self->send(listener, done_atom::value, st.completed, st.total);
          },
          fail_on_error("worker_pool: job failed"));
}

caf::behavior submitter_actor(caf::stateful_actor<submitter_state>* self, caf::actor pool,
                              std::uint64_t n, caf::actor listener) {
  return {
      [=](run_atom) {
        auto window = std::min(n, pool_queue_capacity);
        for (std::uint64_t i = 0; i < window; ++i)
          submit_job(self, pool, n, listener);
      },
  };
}

void bench_worker_pool() {
  const std::uint64_t n = scaled(1'000'000);
  bench_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  auto pool = caf::actor_pool::make(
      sys.dummy_execution_unit(), pool_workers, [&] { return sys.spawn(sum_worker); },
      caf::actor_pool::round_robin());
  auto submitter = sys.spawn(submitter_actor, pool, n, caf::actor_cast<caf::actor>(self));
  stopwatch sw;
  self->send(submitter, run_atom::value);
  std::uint64_t completed = 0;
  std::uint64_t total = 0;
  self->receive([&](done_atom, std::uint64_t count, std::uint64_t sum) {
    completed = count;
    total = sum;
  });
  double seconds = sw.seconds();
  check(completed == n, "worker_pool: wrong number of completed jobs");
  check(total == troupe::bench::worker_pool_expected_total(n), "worker_pool: wrong total sum");
  self->send_exit(submitter, caf::exit_reason::user_shutdown);
  self->send_exit(pool, caf::exit_reason::user_shutdown);
  report(system_name, "worker_pool", n, seconds, "jobs/s",
         {{"queue_capacity", pool_queue_capacity}, {"workers", pool_workers}});
}

// ---------------------------------------------------------------------------------------------
// idle_cpu: what CAF's scheduler costs while it has nothing to do (its workers poll).
// ---------------------------------------------------------------------------------------------

void bench_idle_cpu() {
  bench_config cfg;
  caf::actor_system sys{cfg};
  troupe::bench::report_idle_cpu(system_name, std::max(0.5, 5.0 * troupe::bench::scale()));
}

constexpr troupe::bench::workload workloads[] = {
    {"ping_pong", bench_ping_pong},
    {"fan_in", bench_fan_in},
    {"spawn", bench_spawn},
    {"actor_churn", bench_actor_churn},
    {"request_response", bench_request_response},
    {"remote_request_response", bench_remote_request_response},
    {"fan_out_gather", bench_fan_out_gather},
    {"broadcast", bench_broadcast},
    {"supervisor_restart", bench_supervisor_restart},
    {"worker_pool", bench_worker_pool},
    {"idle_cpu", bench_idle_cpu},
};

} // namespace

int main(int argc, char** argv) {
  return troupe::bench::run_workloads(workloads, argc, argv);
}
