#include <algorithm>
#include <array>
#include <cctype>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "troupe/runtime/runtime.hpp"
#include "troupe/runtime/runtime_config.hpp"
#include "troupe/scheduler/errors.hpp"

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
// An unknown option may carry a third element, the closest known option.
void expect_config_error(const caf::error& err, config_errc code, const std::string& option,
                         const std::string& value) {
  ASSERT_TRUE(err);
  EXPECT_EQ(err, make_error(code)) << render(err);
  if (code == config_errc::unknown_option)
    ASSERT_GE(err.context().size(), 2u) << render(err);
  else
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

// Scripts share the prefix (troupe.sh reads TROUPE_CMAKE_ARGS, which CI exports): a variable that
// is no misspelling of an option belongs to someone else, and every program must still start.
TEST(RuntimeConfig, EnvironmentVariableThatIsNoOptionsMisspellingIsLeftAlone) {
  std::array env{"TROUPE_CMAKE_ARGS=-DTROUPE_WERROR=ON", "TROUPE_WORKERS=3",
                 static_cast<const char*>(nullptr)};
  auto cfg = parse(std::array{"prog"}, env.data());
  ASSERT_TRUE(cfg) << render(cfg.error());
  EXPECT_EQ(cfg->workers, 3u);
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

// -- the option table drives argv, the environment, usage() and the README ---------------------

namespace {

// A valid, non-default value for each documented option and a rendering of the fields it sets:
// applying it through argv and through the environment must give the same configuration.
struct sample {
  std::string_view value;
  std::string (*field)(const runtime_config&);
};

std::string num(std::size_t n) {
  return std::to_string(n);
}

const std::map<std::string_view, sample>& samples() {
  static const std::map<std::string_view, sample> table{
      {"workers", {"3", [](const runtime_config& c) { return num(c.workers); }}},
      {"flavor",
       {"current_thread",
        [](const runtime_config& c) { return std::string{to_string(c.flavor)}; }}},
      {"max-throughput", {"17", [](const runtime_config& c) { return num(c.max_throughput); }}},
      {"blocking-threads", {"5", [](const runtime_config& c) { return num(c.blocking_threads); }}},
      {"blocking-queue",
       {"12", [](const runtime_config& c) { return num(c.blocking_queue_capacity); }}},
      {"shutdown-timeout",
       {"250",
        [](const runtime_config& c) {
          return num(static_cast<std::size_t>(c.shutdown_timeout.count()));
        }}},
      {"scheduler",
       {"caf_sharing",
        [](const runtime_config& c) { return std::string{to_string(c.scheduler)}; }}},
      {"blocked-threshold",
       {"0",
        [](const runtime_config& c) {
          return num(static_cast<std::size_t>(c.blocked_threshold.count()));
        }}},
      {"handle-signals",
       {"true", [](const runtime_config& c) { return std::string{c.handle_signals ? "1" : "0"}; }}},
      {"topology-file", {"/tmp/t.json", [](const runtime_config& c) { return c.topology_file; }}},
      {"admin-port",
       {"9100",
        [](const runtime_config& c) { return c.admin_port ? num(*c.admin_port) : "unset"; }}},
      {"admin-address", {"0.0.0.0", [](const runtime_config& c) { return c.admin_address; }}},
      {"introspection",
       {"false", [](const runtime_config& c) { return std::string{c.introspection ? "1" : "0"}; }}},
  };
  return table;
}

} // namespace

TEST(RuntimeConfigTable, EveryOptionWorksThroughArgvAndThroughTheEnvironment) {
  ASSERT_EQ(runtime_config::options().size(), samples().size());
  for (const auto& option : runtime_config::options()) {
    SCOPED_TRACE(std::string{option.name});
    auto found = samples().find(option.name);
    ASSERT_NE(found, samples().end()) << "no sample value for a new option";
    const auto& [value, field] = found->second;
    // The environment name follows the rule users are told: TROUPE_ + upper case, '-' -> '_'.
    std::string expected_env = "TROUPE_";
    for (char c : option.name)
      expected_env += c == '-' ? '_' : static_cast<char>(std::toupper(c));
    EXPECT_EQ(option.env, expected_env);
    auto argument = "--" + std::string{option.name} + "=" + std::string{value};
    runtime_config by_argv;
    std::array argv{"prog", argument.c_str()};
    ASSERT_FALSE(by_argv.apply_arguments(2, argv.data()));
    auto variable = std::string{option.env} + "=" + std::string{value};
    std::array env{variable.c_str(), static_cast<const char*>(nullptr)};
    runtime_config by_env;
    ASSERT_FALSE(by_env.apply_environment(env.data()));
    EXPECT_NE(field(by_argv), field(runtime_config{})) << "the sample must change the option";
    EXPECT_EQ(field(by_argv), field(by_env));
    // A bad value is named by its source's spelling.
    if (option.name != "topology-file" && option.name != "admin-address") {
      std::string bad_variable = std::string{option.env} + "=bogus";
      std::array bad_env{bad_variable.c_str(), static_cast<const char*>(nullptr)};
      runtime_config rejected;
      expect_config_error(rejected.apply_environment(bad_env.data()), config_errc::malformed_value,
                          std::string{option.env}, "bogus");
    }
  }
}

TEST(RuntimeConfigTable, ReadmeConfigurationTableListsExactlyTheOptions) {
  std::ifstream readme{std::string{TROUPE_SOURCE_DIR} + "/README.md"};
  ASSERT_TRUE(readme) << "cannot read README.md";
  // Rows look like: | `--workers=N` | `TROUPE_WORKERS` | one per core | ... |
  std::regex row{R"(^\| `--([a-z-]+)=([A-Z]+)` \| `(TROUPE_[A-Z_]+)` \| ([^|]*) \|)"};
  std::set<std::string> documented;
  std::string line;
  while (std::getline(readme, line)) {
    std::smatch m;
    if (!std::regex_search(line, m, row))
      continue;
    documented.insert(m[1].str());
    auto option = std::find_if(runtime_config::options().begin(), runtime_config::options().end(),
                               [&](const config_option& o) { return o.name == m[1].str(); });
    ASSERT_NE(option, runtime_config::options().end()) << "README documents --" << m[1];
    EXPECT_EQ(option->value, m[2].str()) << line;
    EXPECT_EQ(option->env, m[3].str()) << line;
  }
  std::set<std::string> table;
  for (const auto& option : runtime_config::options())
    table.insert(std::string{option.name});
  EXPECT_EQ(documented, table);
}

TEST(RuntimeConfigTable, UsageListsEveryOptionInBothSpellings) {
  auto text = runtime_config::usage();
  for (const auto& option : runtime_config::options()) {
    EXPECT_NE(text.find("--" + std::string{option.name} + "="), std::string::npos) << text;
    EXPECT_NE(text.find(std::string{option.env}), std::string::npos) << text;
  }
  EXPECT_NE(text.find("--help"), std::string::npos);
}

TEST(RuntimeConfigTable, HelpIsNotAnErrorAndSkipsValidation) {
  std::array argv{"prog", "--workers=4", "--flavor=current_thread", "--help"};
  auto cfg = runtime_config::from(static_cast<int>(argv.size()), argv.data());
  ASSERT_TRUE(cfg) << render(cfg.error());
  EXPECT_TRUE(cfg->help);
  EXPECT_TRUE(cfg->remainder.empty());
}

TEST(RuntimeConfigTable, UnknownOptionNamesTheClosestValidOne) {
  auto cfg = parse(std::array{"prog", "--wrokers=2"});
  ASSERT_FALSE(cfg);
  EXPECT_EQ(cfg.error(), make_error(config_errc::unknown_option));
  EXPECT_NE(render(cfg.error()).find("did you mean --workers?"), std::string::npos)
      << render(cfg.error());
  std::array env{"TROUPE_ADMIN_PROT=1", static_cast<const char*>(nullptr)};
  auto from_env = parse(std::array{"prog"}, env.data());
  ASSERT_FALSE(from_env);
  EXPECT_NE(render(from_env.error()).find("did you mean TROUPE_ADMIN_PORT?"), std::string::npos)
      << render(from_env.error());
  // Nothing close: no suggestion.
  EXPECT_EQ(runtime_config::closest_option("xyzzy-frobnicate"), "");
  EXPECT_EQ(runtime_config::closest_option("TROUPE_INTROSPECTON"), "introspection");
}

// -- admin endpoint problems are typed errors from runtime::create() ---------------------------

TEST(RuntimeCreate, AdminPortInUseIsATypedErrorNotAnException) {
  runtime_config cfg;
  cfg.workers = 1;
  cfg.admin_port = 0;
  auto first = runtime::create(cfg);
  ASSERT_TRUE(first) << render(first.error());
  auto port = (*first)->admin_port();
  ASSERT_NE(port, 0);
  cfg.admin_port = port;
  auto second = runtime::create(cfg);
  ASSERT_FALSE(second) << "a second endpoint listened on port " << port;
  EXPECT_EQ(second.error(), make_error(runtime_errc::admin_unavailable)) << render(second.error());
  EXPECT_NE(render(second.error()).find("127.0.0.1:" + std::to_string(port)), std::string::npos)
      << render(second.error());
  // The constructor path throws (documented at runtime).
  EXPECT_THROW(runtime{cfg}, std::runtime_error);
}

TEST(RuntimeCreate, AdminAddressThatIsNotDottedIPv4IsATypedError) {
  for (const char* address : {"localhost", "::1", "127.0.0", ""}) {
    SCOPED_TRACE(address);
    runtime_config cfg;
    cfg.workers = 1;
    cfg.admin_port = 0;
    cfg.admin_address = address;
    auto rt = runtime::create(cfg);
    ASSERT_FALSE(rt);
    expect_config_error(rt.error(), config_errc::malformed_value, "admin-address", address);
    auto arg = std::string{"--admin-address="} + address;
    auto parsed = parse(std::array{"prog", arg.c_str()});
    ASSERT_FALSE(parsed);
    expect_config_error(parsed.error(), config_errc::malformed_value, "admin-address", address);
  }
}
