// The optional spdlog adapter (built only where spdlog is found): levels map to spdlog's and
// each event becomes one record.

#include <memory>
#include <mutex>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>

#include <sstream>

#include "troupe/spdlog/spdlog_event_log.hpp"

using troupe::event;
using troupe::event_level;

namespace {

event make(event_level level, std::string_view kind, std::string text) {
  event e;
  e.level = level;
  e.kind = kind;
  e.name = "demo/jobs/w1";
  e.text = std::move(text);
  return e;
}

} // namespace

TEST(SpdlogEventLog, LevelsMapToSpdlogLevels) {
  EXPECT_EQ(troupe::to_spdlog_level(event_level::debug), spdlog::level::debug);
  EXPECT_EQ(troupe::to_spdlog_level(event_level::info), spdlog::level::info);
  EXPECT_EQ(troupe::to_spdlog_level(event_level::notice), spdlog::level::info);
  EXPECT_EQ(troupe::to_spdlog_level(event_level::warning), spdlog::level::warn);
  EXPECT_EQ(troupe::to_spdlog_level(event_level::error), spdlog::level::err);
}

TEST(SpdlogEventLog, WritesOneRecordPerEventThroughASink) {
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_st>(out);
  sink->set_pattern("%l|%v");
  auto logger = std::make_shared<spdlog::logger>("events-test", sink);
  logger->set_level(spdlog::level::trace);
  troupe::event_stream events;
  {
    troupe::spdlog_event_log log{events, logger, event_level::info};
    events.publish(make(event_level::debug, "test.hidden", "below the minimum"));
    events.publish(make(event_level::warning, "supervisor.child_restarted", "restarted"));
    events.publish(make(event_level::error, "supervisor.gave_up", "gave up"));
  }
  events.publish(make(event_level::error, "test.after", "after stop"));
  EXPECT_EQ(out.str(), "warning|supervisor.child_restarted demo/jobs/w1 restarted\n"
                       "error|supervisor.gave_up demo/jobs/w1 gave up\n");
}

TEST(SpdlogEventLog, JsonMessagesParse) {
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_st>(out);
  sink->set_pattern("%v");
  auto logger = std::make_shared<spdlog::logger>("events-json", sink);
  troupe::event_stream events;
  troupe::spdlog_event_log log{events, logger, event_level::info, troupe::event_format::json};
  auto e = make(event_level::info, "actor.exited", "exited");
  e.fields = {{"reason", "none"}};
  events.publish(e);
  auto j = nlohmann::json::parse(out.str());
  EXPECT_EQ(j.at("kind"), "actor.exited");
  EXPECT_EQ(j.at("reason"), "none");
  EXPECT_EQ(j.at("sequence"), 1);
}
