// The admin endpoint as the introspection layer offers it, without a runtime: any topology
// source, event stream and metric families can be served.

#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/http_client.hpp"
#include "troupe/introspection/admin_endpoint.hpp"
#include "troupe/introspection/topology_registry.hpp"

namespace {

using troupe::test::body_of;
using troupe::test::http_exchange;

// A document family: one sample read from the whole dump.
void sample_live_actors(const troupe::metric_family&, const troupe::metric_source& source,
                        troupe::sample_writer& out) {
  out.add({}, source.entry.at("runtime").at("live_actors"));
}

constexpr troupe::metric_family live_actors{"app_live_actors",
                                            troupe::metric_type::gauge,
                                            "Live actors.",
                                            troupe::metric_scope::document,
                                            {},
                                            "live_actors",
                                            &sample_live_actors};

nlohmann::json document(const troupe::topology_registry& registry,
                        std::vector<std::string>* node_sections) {
  auto doc = registry.dump(node_sections);
  doc["format"] = "troupe-topology";
  doc["runtime"] = {{"live_actors", 0}};
  return doc;
}

TEST(AdminEndpointSeam, ServesAnyTopologySourceOnceReady) {
  troupe::event_stream events;
  troupe::metric_registry families;
  families.declare(live_actors);
  troupe::topology_registry registry;
  registry.add_component("gauges", "g1", [] { return nlohmann::json{{"value", 42}}; });
  troupe::admin_endpoint admin{
      "127.0.0.1", 0, events, families,
      [&](std::vector<std::string>* sections) { return document(registry, sections); }};
  ASSERT_NE(admin.port(), 0);
  auto early = http_exchange(admin.port(), "GET /topology HTTP/1.0\r\n\r\n");
  EXPECT_EQ(early.rfind("HTTP/1.1 503", 0), 0u) << early;
  auto page = http_exchange(admin.port(), "GET / HTTP/1.0\r\n\r\n");
  EXPECT_EQ(page.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << page; // the viewer needs no data

  admin.set_ready();
  auto response = http_exchange(admin.port(), "GET /topology HTTP/1.0\r\n\r\n");
  ASSERT_EQ(response.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << response;
  auto doc = nlohmann::json::parse(body_of(response));
  EXPECT_EQ(doc.at("format"), "troupe-topology");
  // The registry lists the sections the format requires, and the component's own entry.
  EXPECT_TRUE(doc.at("supervision").is_array()) << doc.dump(2);
  ASSERT_EQ(doc.at("gauges").size(), 1u) << doc.dump(2);
  EXPECT_EQ(doc.at("gauges")[0].at("value"), 42);
  auto metrics = http_exchange(admin.port(), "GET /metrics HTTP/1.0\r\n\r\n");
  EXPECT_EQ(metrics.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << metrics;
  EXPECT_NE(metrics.find("# TYPE app_live_actors gauge\napp_live_actors 0\n"), std::string::npos)
      << metrics;
  // Only what was declared: the layer has no figures of its own.
  EXPECT_EQ(metrics.find("troupe_"), std::string::npos) << metrics;
}

TEST(AdminEndpointSeam, KeepsTheStreamsInfoEventsForGetEvents) {
  troupe::event_stream events;
  troupe::metric_registry families;
  troupe::admin_endpoint admin{"127.0.0.1", 0, events, families,
                               [](std::vector<std::string>*) { return nlohmann::json{}; }};
  admin.set_ready();
  troupe::event debug;
  debug.level = troupe::event_level::debug;
  debug.kind = "test.debug";
  events.publish(debug);
  troupe::event info;
  info.level = troupe::event_level::info;
  info.kind = "test.info";
  info.text = "seen by the endpoint";
  events.publish(info);
  auto response = http_exchange(admin.port(), "GET /events HTTP/1.0\r\n\r\n");
  ASSERT_EQ(response.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << response;
  auto body = body_of(response);
  EXPECT_NE(body.find("test.info"), std::string::npos) << body;
  EXPECT_EQ(body.find("test.debug"), std::string::npos) << body; // below info: not kept
}

TEST(AdminEndpointSeam, AnAddressThatCannotBeBoundIsAnAdminListenError) {
  troupe::event_stream events;
  troupe::metric_registry families;
  EXPECT_THROW((troupe::admin_endpoint{"not-an-address", 0, events, families,
                                       [](std::vector<std::string>*) { return nlohmann::json{}; }}),
               troupe::admin_listen_error);
}

} // namespace
