// troupe::result<T>: value() on an error throws bad_result_access in every build type (this
// file is compiled in the default build, with NDEBUG: caf::expected::value() would be undefined
// behaviour there); everything else behaves as caf::expected.

#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "support/runtime_fixture.hpp"
#include "troupe/troupe.hpp"

using namespace std::chrono_literals;

namespace {

struct ping {
  using reply_type = int;
};

} // namespace

TEST(Result, ValueOnAnErrorThrowsBadResultAccessCarryingTheTypedError) {
  troupe::result<int> r = troupe::make_error(troupe::runtime_errc::timeout);
  ASSERT_FALSE(r);
  try {
    (void)r.value();
    FAIL() << "value() returned on an error";
  } catch (const troupe::bad_result_access& e) {
    EXPECT_EQ(e.error(), troupe::make_error(troupe::runtime_errc::timeout));
    EXPECT_NE(std::string{e.what()}.find("runtime_error(timeout"), std::string::npos) << e.what();
  }
  const auto& cr = r;
  EXPECT_THROW((void)cr.value(), troupe::bad_result_access);
  EXPECT_THROW((void)std::move(r).value(), troupe::bad_result_access);
  // It is a std::exception, so a catch-all handler reports it.
  EXPECT_THROW((void)cr.value(), std::exception);
}

TEST(Result, KeepsCafExpectedsInterface) {
  troupe::result<std::string> r = std::string{"abc"};
  ASSERT_TRUE(r);
  EXPECT_EQ(r.value(), "abc");
  EXPECT_EQ(*r, "abc");
  EXPECT_EQ(r->size(), 3u);
  EXPECT_EQ(std::move(r).value(), "abc");
  caf::expected<int> plain = 7;
  troupe::result<int> from_plain = plain;
  EXPECT_EQ(from_plain, caf::expected<int>{7}); // CAF's comparisons still apply
  caf::expected<int> back = from_plain;         // and it is a caf::expected
  EXPECT_EQ(*back, 7);
  troupe::result<void> ok;
  EXPECT_TRUE(ok);
  EXPECT_NO_THROW(ok.value());
  troupe::result<void> failed = troupe::make_error(troupe::runtime_errc::cancelled);
  EXPECT_THROW(failed.value(), troupe::bad_result_access);
}

TEST(Result, PublicFunctionsReturnItSoValueOnTheirErrorsThrows) {
  troupe::runtime_config bad;
  bad.blocking_threads = 0;
  auto rt = troupe::runtime::create(bad);
  EXPECT_THROW((void)rt.value(), troupe::bad_result_access);
  const char* argv[] = {"prog", "--workers=zero"};
  EXPECT_THROW((void)troupe::runtime_config::from(2, argv).value(), troupe::bad_result_access);

  troupe::runtime_config cfg;
  cfg.workers = 2;
  troupe::runtime live{cfg};
  troupe::mailbox_options opts;
  opts.send_timeout = std::chrono::milliseconds{-1};
  try {
    (void)troupe::spawn_mailbox<ping>(live, opts, [](auto*) {
      return troupe::handlers{[](ping&) { return 1; }};
    }).value();
    FAIL() << "spawn_mailbox accepted invalid options";
  } catch (const troupe::bad_result_access& e) {
    EXPECT_EQ(e.error(), troupe::config_errc::out_of_range) << e.what();
  }
  troupe::topic_options no_room;
  no_room.capacity = 0;
  auto topic = troupe::make_topic<int>(live, no_room);
  EXPECT_THROW((void)topic.value(), troupe::bad_result_access);
  troupe::pool_options no_workers;
  no_workers.workers = 0;
  auto pool = troupe::spawn_pool<ping>(live, no_workers,
                                       [](std::size_t) { return [](ping&) { return 1; }; });
  EXPECT_THROW((void)pool.value(), troupe::bad_result_access);
  auto mb = troupe::spawn_mailbox<ping>(live, {}, [](auto*) {
              return troupe::handlers{[](ping&) { return 1; }};
            }).value();
  EXPECT_EQ(troupe::ask(mb, ping{}, 5s).value(), 1);
  caf::anon_send_exit(mb.actor(), caf::exit_reason::user_shutdown);
}
