// The introspection seam: components describe their own actors, rows and metric families to the
// runtime's registries, and the runtime renders them without knowing any component's words. The
// output of a known system stays exactly what it was before the seam existed.

#include <chrono>
#include <regex>
#include <string>

#include <caf/all.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "supervision/probe.hpp"
#include "support/http_client.hpp"
#include "support/runtime_fixture.hpp"
#include "troupe/troupe.hpp"

using namespace std::chrono_literals;
using nlohmann::json;
using troupe::test::crash_atom;
using troupe::test::event_log;
using troupe::test::probe_child;

namespace {

struct ping {
  using reply_type = int;
};
struct job {
  int x;
  using reply_type = int;
};

troupe::runtime_config admin_config() {
  auto cfg = troupe::test::runtime_fixture::default_config();
  cfg.admin_port = 0;
  return cfg;
}

class introspection_test : public troupe::test::runtime_fixture {
protected:
  introspection_test() : runtime_fixture(admin_config()) {}

  std::string metrics_text() {
    return troupe::test::body_of(
        troupe::test::http_exchange(rt->admin_port(), "GET /metrics HTTP/1.0\r\n\r\n"));
  }

  std::shared_ptr<event_log> log = std::make_shared<event_log>();
};

// Ids depend on how many actors ran before; the golden text names them `id="#"`.
std::string without_ids(const std::string& text) {
  return std::regex_replace(text, std::regex{"id=\"[0-9]+\""}, "id=\"#\"");
}

// Everything after the runtime's own figures: the families the components contribute.
std::string component_families(const std::string& text) {
  auto at = text.find("# HELP troupe_mailbox_depth");
  return at == std::string::npos ? text : text.substr(at);
}

TEST_F(introspection_test, MetricsOfAKnownSystemKeepTheirExactText) {
  troupe::supervisor_spec inner;
  inner.name = "pipeline";
  inner.strategy = troupe::restart_strategy::rest_for_one;
  troupe::child_spec db;
  db.id = "db";
  db.start = [](const troupe::child_context& ctx) -> troupe::started_child {
    troupe::mailbox_options opts;
    opts.name = "db";
    return troupe::spawn_mailbox<ping>(
        ctx.rt, opts, [](auto*) { return troupe::handlers{[](ping&) { return 2; }}; });
  };
  inner.children = {probe_child("parser", log), db};
  troupe::supervisor_spec spec;
  spec.name = "root";
  spec.intensity = 5;
  spec.children = {probe_child("a", log), troupe::supervisor_child("pipeline", inner)};
  auto root = troupe::start_supervisor(*rt, spec).value();
  troupe::mailbox_options mopts;
  mopts.name = "in\"box";
  mopts.capacity = 8;
  auto inbox = troupe::spawn_mailbox<ping>(*rt, mopts, [](auto*) {
                 return troupe::handlers{[](ping&) { return 1; }};
               }).value();
  troupe::topic_options topts;
  topts.name = "events";
  auto events = troupe::make_topic<int>(*rt, topts).value();
  troupe::pool_options popts;
  popts.name = "jobs";
  popts.workers = 2;
  auto pool = troupe::spawn_pool<job>(*rt, popts, [](std::size_t) {
                return [](job& j) { return j.x; };
              }).value();
  ASSERT_EQ(pool.submit(job{3}).value(), 3);
  auto mark = log->size();
  auto listed = root.which_children().value(); // a range-for over a temporary's value dangles
  for (auto& c : listed)
    if (c.id == "a")
      caf::anon_send(c.actor, crash_atom::value);
  ASSERT_TRUE(log->wait_for_size(mark + 2));
  auto restarted = [&] {
    auto now = rt->topology();
    for (auto& c : now.at("supervision"))
      if (c.at("name") == "root")
        return c.at("children")[0].at("restarts") == 1 &&
               c.at("children")[0].at("state") == "running";
    return false;
  };
  ASSERT_TRUE(troupe::test::eventually(restarted, 2s)) << rt->topology().dump(2);

  auto text = metrics_text();
  // The runtime's own families come first, in their fixed order.
  EXPECT_EQ(text.rfind("# HELP troupe_workers Scheduler worker threads.\n"
                       "# TYPE troupe_workers gauge\ntroupe_workers 2\n",
                       0),
            0u)
      << text;
  EXPECT_NE(text.find("# TYPE troupe_dead_letters_total counter\ntroupe_dead_letters_total "),
            std::string::npos)
      << text;
  EXPECT_EQ(without_ids(component_families(text)), //
            "# HELP troupe_mailbox_depth Messages waiting in a typed mailbox.\n"
            "# TYPE troupe_mailbox_depth gauge\n"
            "troupe_mailbox_depth{actor=\"root/pipeline/db\",id=\"#\"} 0\n"
            "troupe_mailbox_depth{actor=\"in\\\"box\",id=\"#\"} 0\n"
            "# HELP troupe_child_restarts_total Restarts of a supervised child.\n"
            "# TYPE troupe_child_restarts_total counter\n"
            "troupe_child_restarts_total{supervisor=\"root\",child=\"a\"} 1\n"
            "troupe_child_restarts_total{supervisor=\"root\",child=\"pipeline\"} 0\n"
            "troupe_child_restarts_total{supervisor=\"root/pipeline\",child=\"parser\"} 0\n"
            "troupe_child_restarts_total{supervisor=\"root/pipeline\",child=\"db\"} 0\n"
            "troupe_child_restarts_total{supervisor=\"jobs\",child=\"worker#1\"} 0\n"
            "troupe_child_restarts_total{supervisor=\"jobs\",child=\"worker#2\"} 0\n"
            "# HELP troupe_pool_queue_depth Jobs waiting in a pool's queue.\n"
            "# TYPE troupe_pool_queue_depth gauge\n"
            "troupe_pool_queue_depth{pool=\"jobs\"} 0\n"
            "# HELP troupe_pool_completed_total Jobs answered with a result.\n"
            "# TYPE troupe_pool_completed_total counter\n"
            "troupe_pool_completed_total{pool=\"jobs\"} 1\n"
            "# HELP troupe_pool_failed_total Jobs answered with a crash.\n"
            "# TYPE troupe_pool_failed_total counter\n"
            "troupe_pool_failed_total{pool=\"jobs\"} 0\n"
            "# HELP troupe_pool_restarts_total Restarts of a pool's workers.\n"
            "# TYPE troupe_pool_restarts_total counter\n"
            "troupe_pool_restarts_total{pool=\"jobs\"} 0\n")
      << text;

  pool.shutdown(5s);
  EXPECT_FALSE(root.stop());
  caf::anon_send_exit(inbox.actor(), caf::exit_reason::user_shutdown);
  ASSERT_TRUE(troupe::test::eventually([&] { return rt->topology().at("supervision").empty(); }));
}

} // namespace
