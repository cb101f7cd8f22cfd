#include <array>

#include <gtest/gtest.h>

#include "troupe/scheduler/errors.hpp"
#include "troupe/scheduler/runtime.hpp"
#include "troupe/scheduler/runtime_config.hpp"

using namespace troupe;

namespace {

template <std::size_t N>
caf::expected<runtime_config> parse(const std::array<const char*, N>& args,
                                    const char* const* envp = nullptr) {
  runtime_config cfg;
  if (auto err = cfg.apply_environment(envp))
    return err;
  if (auto err = cfg.apply_arguments(static_cast<int>(N), args.data()))
    return err;
  if (auto err = cfg.validate())
    return err;
  return cfg;
}

// The error's context is (option, value); tests assert both so that a user sees what was bad.
void expect_config_error(const caf::error& err, config_errc code, const std::string& option,
                         const std::string& value) {
  ASSERT_TRUE(err);
  EXPECT_EQ(err, make_error(code)) << render(err);
  ASSERT_EQ(err.context().size(), 2u) << render(err);
  EXPECT_EQ(err.context().get_as<std::string>(0), option);
  EXPECT_EQ(err.context().get_as<std::string>(1), value);
}

} // namespace

TEST(RuntimeConfig, DefaultsValidateAndUseOneWorkerPerCore) {
  runtime_config cfg;
  EXPECT_FALSE(cfg.validate());
  EXPECT_GE(cfg.effective_workers(), 1u);
  EXPECT_EQ(cfg.flavor, flavor::multi_thread);
}

TEST(RuntimeConfig, ArgumentsSetEveryOption) {
  auto cfg = parse(std::array{"prog", "--workers=3", "--max-throughput=50", "--blocking-threads",
                              "2", "--blocking-queue=10", "--shutdown-timeout=250"});
  ASSERT_TRUE(cfg) << render(cfg.error());
  EXPECT_EQ(cfg->workers, 3u);
  EXPECT_EQ(cfg->effective_workers(), 3u);
  EXPECT_EQ(cfg->max_throughput, 50u);
  EXPECT_EQ(cfg->blocking_threads, 2u);
  EXPECT_EQ(cfg->blocking_queue_capacity, 10u);
  EXPECT_EQ(cfg->shutdown_timeout, std::chrono::milliseconds{250});
}

TEST(RuntimeConfig, HandleSignalsTakesTrueOrFalseOnly) {
  auto on = parse(std::array{"prog", "--handle-signals=true"});
  ASSERT_TRUE(on) << render(on.error());
  EXPECT_TRUE(on->handle_signals);
  auto bad = parse(std::array{"prog", "--handle-signals=maybe"});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error(), config_errc::malformed_value);
  EXPECT_NE(render(bad.error()).find("handle-signals"), std::string::npos);
}

TEST(RuntimeConfig, CurrentThreadFlavorMeansOneWorker) {
  auto cfg = parse(std::array{"prog", "--flavor=current_thread"});
  ASSERT_TRUE(cfg) << render(cfg.error());
  EXPECT_EQ(cfg->flavor, flavor::current_thread);
  EXPECT_EQ(cfg->effective_workers(), 1u);
}

TEST(RuntimeConfig, PositionalArgumentsAreLeftForTheApplication) {
  auto cfg = parse(std::array{"prog", "input.txt", "--workers=2", "out"});
  ASSERT_TRUE(cfg) << render(cfg.error());
  EXPECT_EQ(cfg->remainder, (std::vector<std::string>{"input.txt", "out"}));
}

TEST(RuntimeConfig, EnvironmentSetsOptionsAndArgumentsOverrideIt) {
  std::array env{"HOME=/root", "TROUPE_WORKERS=4", "TROUPE_BLOCKING_THREADS=3",
                 static_cast<const char*>(nullptr)};
  auto from_env = parse(std::array{"prog"}, env.data());
  ASSERT_TRUE(from_env) << render(from_env.error());
  EXPECT_EQ(from_env->workers, 4u);
  EXPECT_EQ(from_env->blocking_threads, 3u);
  auto overridden = parse(std::array{"prog", "--workers=2"}, env.data());
  ASSERT_TRUE(overridden) << render(overridden.error());
  EXPECT_EQ(overridden->workers, 2u);
}

TEST(RuntimeConfig, UnknownOptionIsRejectedByName) {
  auto cfg = parse(std::array{"prog", "--wrokers=2"});
  ASSERT_FALSE(cfg);
  expect_config_error(cfg.error(), config_errc::unknown_option, "wrokers", "2");
}

TEST(RuntimeConfig, MalformedNumberIsRejected) {
  auto cfg = parse(std::array{"prog", "--workers=two"});
  ASSERT_FALSE(cfg);
  expect_config_error(cfg.error(), config_errc::malformed_value, "workers", "two");
}

TEST(RuntimeConfig, NumberWithTrailingGarbageIsRejected) {
  auto cfg = parse(std::array{"prog", "--blocking-threads=4x"});
  ASSERT_FALSE(cfg);
  expect_config_error(cfg.error(), config_errc::malformed_value, "blocking-threads", "4x");
}

TEST(RuntimeConfig, NegativeNumberIsRejected) {
  auto cfg = parse(std::array{"prog", "--workers=-1"});
  ASSERT_FALSE(cfg);
  expect_config_error(cfg.error(), config_errc::malformed_value, "workers", "-1");
}

TEST(RuntimeConfig, ZeroWorkersIsRejected) {
  auto cfg = parse(std::array{"prog", "--workers=0"});
  ASSERT_FALSE(cfg);
  expect_config_error(cfg.error(), config_errc::out_of_range, "workers", "0");
}

TEST(RuntimeConfig, HugeWorkerCountIsRejected) {
  auto cfg = parse(std::array{"prog", "--workers=99999999999999999999999"});
  ASSERT_FALSE(cfg);
  expect_config_error(cfg.error(), config_errc::out_of_range, "workers", "99999999999999999999999");
}

TEST(RuntimeConfig, UnknownFlavorIsRejected) {
  auto cfg = parse(std::array{"prog", "--flavor=single"});
  ASSERT_FALSE(cfg);
  expect_config_error(cfg.error(), config_errc::malformed_value, "flavor", "single");
}

TEST(RuntimeConfig, OptionWithoutValueIsRejected) {
  auto cfg = parse(std::array{"prog", "--workers"});
  ASSERT_FALSE(cfg);
  expect_config_error(cfg.error(), config_errc::malformed_value, "workers", "");
}

TEST(RuntimeConfig, CurrentThreadWithSeveralWorkersConflicts) {
  auto cfg = parse(std::array{"prog", "--flavor=current_thread", "--workers=4"});
  ASSERT_FALSE(cfg);
  expect_config_error(cfg.error(), config_errc::conflicting_options, "workers",
                      "4 with flavor=current_thread");
}

TEST(RuntimeConfig, UnknownEnvironmentVariableIsRejectedByName) {
  std::array env{"TROUPE_WROKERS=2", static_cast<const char*>(nullptr)};
  auto cfg = parse(std::array{"prog"}, env.data());
  ASSERT_FALSE(cfg);
  expect_config_error(cfg.error(), config_errc::unknown_option, "TROUPE_WROKERS", "2");
}

// The sanitizer runs set TROUPE_TEST_DEADLINE_S for the test binaries; the examples they run
// as tests see it too and must start.
TEST(RuntimeConfig, TestSuiteVariablesAreNotOptions) {
  std::array env{"TROUPE_TEST_DEADLINE_S=180", "TROUPE_WORKERS=3",
                 static_cast<const char*>(nullptr)};
  auto cfg = parse(std::array{"prog"}, env.data());
  ASSERT_TRUE(cfg) << render(cfg.error());
  EXPECT_EQ(cfg->workers, 3u);
}

TEST(RuntimeConfig, MalformedEnvironmentValueNamesTheVariable) {
  std::array env{"TROUPE_WORKERS=lots", static_cast<const char*>(nullptr)};
  auto cfg = parse(std::array{"prog"}, env.data());
  ASSERT_FALSE(cfg);
  expect_config_error(cfg.error(), config_errc::malformed_value, "TROUPE_WORKERS", "lots");
}

TEST(RuntimeConfig, CodeSetValuesAreValidatedToo) {
  runtime_config cfg;
  cfg.blocking_threads = 0;
  expect_config_error(cfg.validate(), config_errc::out_of_range, "blocking-threads", "0");
  cfg = runtime_config{};
  cfg.max_throughput = 0;
  expect_config_error(cfg.validate(), config_errc::out_of_range, "max-throughput", "0");
}

TEST(RuntimeConfig, RenderNamesCodeOptionAndValue) {
  auto err = make_error(config_errc::malformed_value, std::string{"workers"}, std::string{"x"});
  EXPECT_EQ(render(err), R"(config_error(malformed_value: ("workers", "x")))");
}

TEST(RuntimeCreate, InvalidConfigGivesTypedErrorNotException) {
  runtime_config cfg;
  cfg.flavor = flavor::current_thread;
  cfg.workers = 2;
  auto rt = runtime::create(cfg);
  ASSERT_FALSE(rt);
  EXPECT_EQ(rt.error(), make_error(config_errc::conflicting_options));
}

TEST(RuntimeCreate, ConstructorThrowsInvalidArgumentNamingTheOption) {
  runtime_config cfg;
  cfg.blocking_threads = 0;
  try {
    runtime rt{cfg};
    FAIL() << "constructor accepted an invalid configuration";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string{e.what()}.find("blocking-threads"), std::string::npos) << e.what();
  }
}
