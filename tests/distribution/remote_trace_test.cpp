// Request tracing across nodes: two runtimes in one process over loopback. A remote request
// carries its caller's trace; the server's handler runs with it, and the caller's continuation
// (in an actor) runs with it when the reply comes back.

#include <atomic>
#include <chrono>
#include <memory>

#include <gtest/gtest.h>

#include "distribution/client_server_fixture.hpp"
#include "distribution/wire_types.hpp"
#include "troupe/distribution.hpp"
#include "troupe/troupe.hpp"

using namespace std::chrono_literals;
using troupe::test::add;

namespace {

// Asks the remote adder from inside its handler; answers with the trace its continuation ran
// with (0 when the remote request failed).
struct relay {
  using reply_type = troupe::trace_id;
};

class remote_trace_test : public troupe::test::client_server_fixture {
protected:
  // Publishes an adder on the server that records the trace of each request it handles, and
  // looks it up from the client.
  troupe::remote_mailbox<add> serve_adder() {
    auto adder = troupe::spawn_mailbox<add>(server_rt, {}, [seen = seen](auto*) {
                   return troupe::handlers{[seen](add& a) {
                     seen->store(troupe::current_trace());
                     return a.x + a.y;
                   }};
                 }).value();
    EXPECT_FALSE(server.publish("adder", adder));
    auto port = server.listen(0);
    EXPECT_TRUE(port);
    auto remote = client.lookup<add>("127.0.0.1", port ? *port : 0, "adder");
    EXPECT_TRUE(remote) << troupe::render(remote.error());
    return remote ? *remote : troupe::remote_mailbox<add>{};
  }

  std::shared_ptr<std::atomic<troupe::trace_id>> seen =
      std::make_shared<std::atomic<troupe::trace_id>>(0);
};

TEST_F(remote_trace_test, ARemoteHandlerRunsWithTheCallersTrace) {
  auto remote = serve_adder();
  ASSERT_TRUE(remote);
  auto t = troupe::new_trace();
  {
    troupe::trace_scope traced{t};
    auto r = remote.ask(add{1, 2}, 5s);
    ASSERT_TRUE(r) << troupe::render(r.error());
    EXPECT_EQ(*r, 3);
  }
  EXPECT_EQ(seen->load(), t);
  auto untraced = remote.ask(add{2, 2}, 5s);
  ASSERT_TRUE(untraced) << troupe::render(untraced.error());
  EXPECT_EQ(seen->load(), 0u);
}

TEST_F(remote_trace_test, AnActorsRemoteRequestKeepsItsTraceThereAndBack) {
  auto remote = serve_adder();
  ASSERT_TRUE(remote);
  auto relayer =
      troupe::spawn_mailbox<relay>(client_rt, {}, [remote](troupe::mailbox_self<relay>* self) {
        return troupe::handlers{
            [self, remote](relay&, troupe::response_promise<troupe::trace_id> p) {
              remote.request(self, add{20, 22}, 5s)
                  .then([p](int32_t) mutable { p.deliver(troupe::current_trace()); },
                        [p](caf::error) mutable { p.deliver(troupe::trace_id{0}); });
            }};
      }).value();
  auto t = troupe::new_trace();
  troupe::trace_scope traced{t};
  auto r = troupe::ask(relayer, relay{}, 10s);
  ASSERT_TRUE(r) << troupe::render(r.error());
  EXPECT_EQ(*r, t);
  EXPECT_EQ(seen->load(), t);
  caf::anon_send_exit(relayer.actor(), caf::exit_reason::user_shutdown);
}

} // namespace
