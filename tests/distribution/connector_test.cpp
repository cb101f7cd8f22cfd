// The node's connector (distribution/detail/connector.hpp) against a stand-in for the actor that
// opens connections: it opens a connection again only when CAF's broker failed the connect with
// a timeout sooner than any real silence could, at most max_connect_attempts times, and hands
// every other answer through unchanged.

#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <string>

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include "troupe/distribution/detail/connector.hpp"
#include "troupe/distribution/distribution_errc.hpp"
#include "troupe/distribution/network_options.hpp"
#include "troupe/runtime/runtime.hpp"

using namespace std::chrono_literals;

namespace {

using reply_atom = caf::atom_constant<caf::atom("tst_reply")>;

struct opener_script {
  int timeouts_first = 0;                    // connects answered with connection_timeout...
  std::chrono::milliseconds answer_after{0}; // ...this long after they came in
  caf::error other;                          // when set: every connect is answered with it
  std::atomic<int> connects{0};
};

// Answers connects as `script` says, then with a null node and handle (a connect that worked).
caf::behavior scripted_opener(caf::event_based_actor* self, std::shared_ptr<opener_script> script) {
  using promise_t =
      caf::typed_response_promise<caf::node_id, caf::strong_actor_ptr, std::set<std::string>>;
  auto pending = std::make_shared<std::map<int, promise_t>>();
  return {
      [=](caf::connect_atom, const std::string&,
          uint16_t) -> caf::result<caf::node_id, caf::strong_actor_ptr, std::set<std::string>> {
        auto n = ++script->connects;
        if (script->other)
          return script->other;
        if (n > script->timeouts_first)
          return {caf::node_id{}, caf::strong_actor_ptr{}, std::set<std::string>{}};
        auto promise = self->make_response_promise<caf::node_id, caf::strong_actor_ptr,
                                                   std::set<std::string>>();
        if (script->answer_after.count() == 0) {
          promise.deliver(caf::make_error(caf::sec::connection_timeout));
          return promise;
        }
        pending->emplace(n, promise);
        self->delayed_send(self, script->answer_after, reply_atom::value, n);
        return promise;
      },
      [=](reply_atom, int n) {
        pending->at(n).deliver(caf::make_error(caf::sec::connection_timeout));
        pending->erase(n);
      },
  };
}

class connector_test : public ::testing::Test {
protected:
  connector_test() {
    opts.heartbeat = 10ms;
    opts.connection_timeout = 100ms;
    opts.connect_timeout = 5s;
  }

  // Connects through a connector in front of an opener following `script`.
  caf::error connect(const std::shared_ptr<opener_script>& script) {
    auto opener = rt.system().spawn(scripted_opener, script);
    auto connector =
        troupe::detail::spawn_connector(rt.system(), opener, opts, [this] { ++retries; });
    caf::scoped_actor self{rt.system()};
    caf::error result;
    self->request(connector, 10s, caf::connect_atom::value, std::string{"127.0.0.1"},
                  uint16_t{4242})
        .receive([](caf::node_id&, caf::strong_actor_ptr&, std::set<std::string>&) {},
                 [&](caf::error& err) { result = std::move(err); });
    return result;
  }

  troupe::runtime rt{troupe::runtime_config{}};
  troupe::network_options opts;
  std::atomic<int> retries{0};
};

TEST_F(connector_test, ATimeoutSoonerThanAnySilenceIsOpenedAgainUntilTheConnectWorks) {
  auto script = std::make_shared<opener_script>();
  script->timeouts_first = 2;
  EXPECT_FALSE(connect(script));
  EXPECT_EQ(script->connects, 3);
  EXPECT_EQ(retries, 2);
}

TEST_F(connector_test, OpeningAgainStopsAfterTheLastAttempt) {
  auto script = std::make_shared<opener_script>();
  script->timeouts_first = 100;
  EXPECT_EQ(connect(script), caf::sec::connection_timeout);
  EXPECT_EQ(script->connects, troupe::detail::max_connect_attempts);
  EXPECT_EQ(retries, troupe::detail::max_connect_attempts - 1);
}

TEST_F(connector_test, ATimeoutAfterTheConnectionTimeoutIsReal) {
  auto script = std::make_shared<opener_script>();
  script->timeouts_first = 1;
  script->answer_after = opts.connection_timeout + 20ms;
  EXPECT_EQ(connect(script), caf::sec::connection_timeout);
  EXPECT_EQ(script->connects, 1);
  EXPECT_EQ(retries, 0);
}

TEST_F(connector_test, NoAttemptStartsThatTheConnectTimeoutWouldCutShort) {
  opts.heartbeat = 200ms; // a retry would wait 100 ms, past the connect's deadline
  opts.connect_timeout = 50ms;
  auto script = std::make_shared<opener_script>();
  script->timeouts_first = 1;
  EXPECT_EQ(connect(script), caf::sec::connection_timeout);
  EXPECT_EQ(script->connects, 1);
  EXPECT_EQ(retries, 0);
}

TEST_F(connector_test, OtherErrorsPassUnchangedAtOnce) {
  auto script = std::make_shared<opener_script>();
  script->other = caf::make_error(caf::sec::cannot_connect_to_node);
  EXPECT_EQ(connect(script), caf::sec::cannot_connect_to_node);
  EXPECT_EQ(script->connects, 1);
  EXPECT_EQ(retries, 0);
}

TEST_F(connector_test, ANodeWithoutConnectionTimeoutNeverOpensAgain) {
  opts.connection_timeout = 0ms;
  auto script = std::make_shared<opener_script>();
  script->timeouts_first = 1;
  EXPECT_EQ(connect(script), caf::sec::connection_timeout);
  EXPECT_EQ(script->connects, 1);
  EXPECT_EQ(retries, 0);
}

} // namespace

namespace {

// CAF's TLS manager waits, as its actor system ends, until nothing holds its actor: a connector
// that held it would hang the runtime's destructor.
TEST_F(connector_test, TheConnectorDoesNotKeepItsOpenerAlive) {
  auto script = std::make_shared<opener_script>();
  auto opener = rt.system().spawn(scripted_opener, script);
  auto connector = troupe::detail::spawn_connector(rt.system(), opener, opts, [] {});
  caf::scoped_actor self{rt.system()};
  self->monitor(opener);
  opener = nullptr;
  // Unreachable once the last handle is gone: only the connector could still hold one.
  bool gone = false;
  self->receive([&](caf::down_msg& down) { gone = down.reason == caf::exit_reason::unreachable; },
                caf::after(10s) >> [] {});
  EXPECT_TRUE(gone);
  caf::error result;
  self->request(connector, 10s, caf::connect_atom::value, std::string{"127.0.0.1"}, uint16_t{4242})
      .receive([](caf::node_id&, caf::strong_actor_ptr&, std::set<std::string>&) {},
               [&](caf::error& err) { result = std::move(err); });
  EXPECT_EQ(result, troupe::distribution_errc::network_disabled);
  EXPECT_EQ(script->connects, 0);
}

} // namespace
