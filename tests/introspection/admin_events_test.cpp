// GET /events: the latest lifecycle events as server-sent events, resumable by id.
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/http_client.hpp"
#include "support/runtime_fixture.hpp"
#include "troupe/introspection/detail/event_backlog.hpp"
#include "troupe/runtime/runtime.hpp"

namespace {

using troupe::test::body_of;
using troupe::test::http_exchange;

// The data lines of a text/event-stream body, parsed, with the id line before each.
struct sent_event {
  std::string id;
  nlohmann::json data;
};

std::vector<sent_event> parse_stream(const std::string& body) {
  std::vector<sent_event> out;
  std::string id;
  std::size_t pos = 0;
  while (pos < body.size()) {
    auto end = body.find('\n', pos);
    auto line = body.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    pos = end == std::string::npos ? body.size() : end + 1;
    if (line.rfind("id: ", 0) == 0)
      id = line.substr(4);
    else if (line.rfind("data: ", 0) == 0)
      out.push_back({id, nlohmann::json::parse(line.substr(6))});
  }
  return out;
}

troupe::event make_event(troupe::event_level level, std::string_view kind, std::string text) {
  troupe::event e;
  e.level = level;
  e.kind = kind;
  e.text = std::move(text);
  return e;
}

class AdminEvents : public troupe::test::runtime_fixture {
public:
  static troupe::runtime_config with_endpoint() {
    auto cfg = default_config();
    cfg.admin_port = 0;
    return cfg;
  }
  AdminEvents() : runtime_fixture(with_endpoint()) {}

  // Publishes three test events and returns the sequence numbers of the two the endpoint keeps
  // (info and above; the debug one is not kept).
  std::vector<uint64_t> publish_three() {
    std::vector<uint64_t> kept;
    auto sub = rt->events().subscribe(
        [&](const troupe::event& e) {
          if (e.kind.rfind("test.", 0) == 0 && e.level >= troupe::event_level::info)
            kept.push_back(e.sequence);
        },
        troupe::event_level::debug);
    rt->events().publish(make_event(troupe::event_level::info, "test.first", "one"));
    rt->events().publish(make_event(troupe::event_level::debug, "test.routine", "not kept"));
    rt->events().publish(make_event(troupe::event_level::warning, "test.second", "two"));
    return kept;
  }

  std::vector<sent_event> test_events(const std::string& request) {
    auto response = http_exchange(rt->admin_port(), request);
    EXPECT_EQ(response.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << response;
    std::vector<sent_event> out;
    for (auto& e : parse_stream(body_of(response)))
      if (e.data.at("kind").get<std::string>().rfind("test.", 0) == 0)
        out.push_back(e);
    return out;
  }
};

TEST_F(AdminEvents, ServesTheKeptEventsAsAServerSentEventStream) {
  auto kept = publish_three();
  ASSERT_EQ(kept.size(), 2u);
  auto response = http_exchange(rt->admin_port(), "GET /events HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_EQ(response.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << response;
  EXPECT_NE(response.find("Content-Type: text/event-stream"), std::string::npos) << response;
  EXPECT_NE(response.find("Cache-Control: no-store"), std::string::npos) << response;
  auto body = body_of(response);
  EXPECT_EQ(body.rfind("retry: 500\n\n", 0), 0u) << body;
  auto events = test_events("GET /events HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_EQ(events.size(), 2u) << body;
  EXPECT_EQ(events[0].id, std::to_string(kept[0]));
  EXPECT_EQ(events[0].data.at("kind"), "test.first");
  EXPECT_EQ(events[0].data.at("level"), "info");
  EXPECT_EQ(events[0].data.at("text"), "one");
  EXPECT_EQ(events[1].id, std::to_string(kept[1]));
  EXPECT_EQ(events[1].data.at("kind"), "test.second");
  EXPECT_EQ(events[1].data.at("sequence"), kept[1]);
}

TEST_F(AdminEvents, ResumesAfterTheLastEventIdOrTheAfterParameter) {
  auto kept = publish_three();
  ASSERT_EQ(kept.size(), 2u);
  auto first = std::to_string(kept[0]);
  auto by_header =
      test_events("GET /events HTTP/1.1\r\nHost: x\r\nLast-Event-ID: " + first + "\r\n\r\n");
  ASSERT_EQ(by_header.size(), 1u);
  EXPECT_EQ(by_header[0].data.at("kind"), "test.second");
  auto by_query = test_events("GET /events?after=" + first + " HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_EQ(by_query.size(), 1u);
  EXPECT_EQ(by_query[0].data.at("kind"), "test.second");
  auto last = std::to_string(kept[1]);
  EXPECT_TRUE(test_events("GET /events?after=" + last + " HTTP/1.1\r\n\r\n").empty());
  // A malformed position is no position: every kept event.
  EXPECT_EQ(test_events("GET /events?after=x1 HTTP/1.1\r\n\r\n").size(), 2u);
}

TEST(EventBacklog, KeepsTheLatestAndTellsAReaderWhatWasDroppedForRoom) {
  troupe::detail::event_backlog backlog{2};
  for (uint64_t seq = 1; seq <= 4; ++seq) {
    troupe::event e = make_event(troupe::event_level::info, "test.n", std::to_string(seq));
    e.sequence = seq;
    backlog.add(e);
  }
  auto all = backlog.server_sent_events(0, std::chrono::milliseconds{250});
  EXPECT_EQ(all.rfind("retry: 250\n\n", 0), 0u) << all;
  auto events = parse_stream(all);
  ASSERT_EQ(events.size(), 2u) << all;
  EXPECT_EQ(events[0].id, "3");
  EXPECT_EQ(events[1].id, "4");
  // A fresh reader (0) is not told; one that saw event 1 missed event 2.
  EXPECT_EQ(all.find("dropped"), std::string::npos) << all;
  auto behind = backlog.server_sent_events(1, std::chrono::milliseconds{250});
  EXPECT_NE(behind.find(": events after 1 up to 2 were dropped from the backlog\n\n"),
            std::string::npos)
      << behind;
  EXPECT_EQ(parse_stream(behind).size(), 2u);
  auto current = backlog.server_sent_events(3, std::chrono::milliseconds{250});
  EXPECT_EQ(current.find("dropped"), std::string::npos) << current;
  ASSERT_EQ(parse_stream(current).size(), 1u);
}

TEST(EventBacklogCost, ARuntimeWithoutAnEndpointKeepsNoSubscriber) {
  troupe::runtime rt{troupe::test::runtime_fixture::default_config()};
  EXPECT_FALSE(rt.events().wants(troupe::event_level::error));
}

} // namespace
