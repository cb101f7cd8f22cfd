// coro::request to a remote mailbox: two runtimes in one process over loopback; a task on the
// client awaits requests to a mailbox of the server and gets the replies and typed errors of
// remote_mailbox::request, resuming on its own actor.

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include "coro/coro_support.hpp"
#include "distribution/client_server_fixture.hpp"
#include "distribution/wire_types.hpp"
#include "support/runtime_fixture.hpp"
#include "troupe/distribution.hpp"
#include "troupe/troupe.hpp"

using namespace std::chrono_literals;
using troupe::test::add;
using troupe::test::explode;
using troupe::test::release_atom;
using troupe::test::slow;

namespace {

using remote_calc = troupe::remote_mailbox<add, slow, explode>;

// add answers, slow waits for `gate` (no sleep: the test opens it), explode throws.
troupe::mailbox<add, slow, explode> spawn_calc(troupe::runtime& rt, caf::actor gate) {
  return troupe::spawn_mailbox<add, slow, explode>(
             rt, {},
             [gate](auto*) {
               return troupe::handlers{
                   [](add& a) { return a.x + a.y; },
                   [gate](slow) -> troupe::task<std::string> {
                     co_await troupe::coro::request_actor<int>(gate, caf::infinite, 0);
                     co_return std::string{"done"};
                   },
                   [](explode& e) -> caf::unit_t { throw std::runtime_error(e.why); },
               };
             })
      .value();
}

class remote_coro_test : public troupe::test::client_server_fixture {
protected:
  // Publishes a calc mailbox of the server (its slow requests wait for `gate`) and looks it up
  // from the client; the first error on the way, otherwise.
  caf::expected<remote_calc> serve_calc(caf::actor gate) {
    calc = spawn_calc(server_rt, std::move(gate));
    if (auto err = server.publish("calc", calc))
      return err;
    auto port = server.listen(0);
    if (!port)
      return port.error();
    return client.lookup<add, slow, explode>("127.0.0.1", *port, "calc");
  }

  troupe::mailbox<add, slow, explode> calc;
};

std::string show(const caf::error& err) {
  return troupe::render(err);
}

// "handler_threw:<message>" for a handler_threw carrying the handler's message.
std::string threw(const caf::expected<caf::unit_t>& r) {
  if (r)
    return "unit";
  if (r.error() != troupe::mailbox_errc::handler_threw)
    return show(r.error());
  return std::string{"handler_threw"} +
         (show(r.error()).find("kaput") != std::string::npos ? ":kaput" : ":?");
}

TEST_F(remote_coro_test, ATaskAwaitsRemoteRepliesTypedErrorsAndTimeouts) {
  auto gate = server_rt.spawn(troupe::test::gate_actor);
  auto remote = serve_calc(gate);
  ASSERT_TRUE(remote) << troupe::render(remote.error());
  struct go {};
  auto out = std::make_shared<std::promise<std::string>>();
  auto threads = std::make_shared<std::vector<std::thread::id>>();
  auto asker = troupe::spawn_mailbox<go>(client_rt, {}, [r = *remote, out, threads](auto* self) {
                 return troupe::handlers{[=](go) -> troupe::task<void> {
                   add sum{40, 2};
                   auto v = co_await troupe::coro::request(r, sum, 5s);
                   // Held by the server until the gate opens: the request times out first.
                   slow held{0};
                   auto t = co_await troupe::coro::request(r, held, 50ms);
                   explode boom{"kaput"};
                   auto e = co_await troupe::coro::request(r, boom, 5s);
                   auto d = co_await troupe::coro::request(r, sum, 5s);
                   out->set_value((v ? std::to_string(*v) : show(v.error())) + "|" +
                                  (t ? *t : show(t.error())) + "|" + threw(e) + "|" +
                                  (d ? std::to_string(*d) : show(d.error())) + "|" +
                                  std::to_string(self->coroutines().owned_frames()));
                 }};
               }).value();
  ASSERT_TRUE(asker.send(go{}));
  auto fut = out->get_future();
  ASSERT_EQ(fut.wait_for(20s), std::future_status::ready);
  EXPECT_EQ(fut.get(), "42|" + show(troupe::make_error(troupe::mailbox_errc::request_timeout)) +
                           "|" + "handler_threw:kaput|" +
                           show(troupe::make_error(troupe::mailbox_errc::receiver_dead)) + "|1");
  caf::anon_send(gate, release_atom::value);
  for (auto a : {asker.actor(), gate})
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
}

// A remote request that loses a first_of is destroyed with its branch: its reply, once the
// server answers, resumes nothing and is dropped and counted on the asking actor.
TEST_F(remote_coro_test, AnAbandonedRemoteRequestResumesNothingAndItsReplyIsCounted) {
  auto gate = server_rt.spawn(troupe::test::gate_actor);
  auto remote = serve_calc(gate);
  ASSERT_TRUE(remote) << troupe::render(remote.error());
  struct go {
    using reply_type = std::size_t;
  };
  struct late {
    using reply_type = uint64_t;
  };
  auto resumed = std::make_shared<std::atomic<int>>(0);
  auto loser = [](remote_calc r,
                  std::shared_ptr<std::atomic<int>> count) -> troupe::task<std::string> {
    slow held{0};
    auto v = co_await troupe::coro::request(r, held, 1h);
    count->fetch_add(1);
    co_return v ? *v : show(v.error());
  };
  auto asker =
      troupe::spawn_mailbox<go, late>(client_rt, {}, [r = *remote, resumed, loser](auto* self) {
        return troupe::handlers{
            [=](go) -> troupe::task<std::size_t> {
              // A request to the server first: the connection is up before the race.
              add sum{1, 1};
              co_await troupe::coro::request(r, sum, 5s);
              auto winner =
                  co_await troupe::coro::first_of(loser(r, resumed), troupe::coro::sleep_for(20ms));
              co_return winner.index();
            },
            [self](late) { return self->coroutines().late_replies(); },
        };
      }).value();
  auto winner = troupe::ask(asker, go{}, 10s);
  ASSERT_TRUE(winner) << troupe::render(winner.error());
  EXPECT_EQ(*winner, 1u);
  caf::anon_send(gate, release_atom::value);
  EXPECT_TRUE(troupe::test::eventually([&] {
    auto n = troupe::ask(asker, late{}, 5s);
    return n && *n == 1;
  }));
  EXPECT_EQ(resumed->load(), 0);
  for (auto a : {asker.actor(), gate})
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
}

} // namespace
