#include "troupe/scheduler/runtime_config.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <limits>
#include <thread>

#include "troupe/scheduler/errors.hpp"

extern char** environ;

namespace troupe {

namespace {

// Upper bounds guard against typos such as an extra zero turning into thousands of threads.
constexpr std::size_t max_workers = 1024;
constexpr std::size_t max_blocking_threads = 4096;

caf::error bad(config_errc code, std::string_view option, std::string_view value) {
  return make_error(code, std::string{option}, std::string{value});
}

caf::error parse_count(std::string_view option, std::string_view text, std::size_t min,
                       std::size_t max, std::size_t& out) {
  std::size_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec == std::errc::invalid_argument || end != text.data() + text.size())
    return bad(config_errc::malformed_value, option, text);
  if (ec == std::errc::result_out_of_range || value < min || value > max)
    return bad(config_errc::out_of_range, option, text);
  out = value;
  return caf::none;
}

std::string env_name(std::string_view option) {
  std::string name = "TROUPE_";
  for (char c : option)
    name += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return name;
}

constexpr std::array<std::string_view, 9> option_names{
    "workers",          "flavor",    "max-throughput",    "blocking-threads", "blocking-queue",
    "shutdown-timeout", "scheduler", "blocked-threshold", "handle-signals"};

} // namespace

const char* to_string(scheduler_policy p) noexcept {
  switch (p) {
  case scheduler_policy::troupe:
    return "troupe";
  case scheduler_policy::caf_stealing:
    return "caf_stealing";
  case scheduler_policy::caf_sharing:
    return "caf_sharing";
  }
  return "unknown";
}

const char* to_string(flavor f) noexcept {
  return f == flavor::current_thread ? "current_thread" : "multi_thread";
}

caf::error runtime_config::set(std::string_view option, std::string_view value) {
  if (option == "workers")
    return parse_count(option, value, 1, max_workers, workers);
  if (option == "flavor") {
    if (value == "multi_thread")
      flavor = flavor::multi_thread;
    else if (value == "current_thread")
      flavor = flavor::current_thread;
    else
      return bad(config_errc::malformed_value, option, value);
    return caf::none;
  }
  if (option == "max-throughput")
    return parse_count(option, value, 1, std::numeric_limits<std::size_t>::max(), max_throughput);
  if (option == "blocking-threads")
    return parse_count(option, value, 1, max_blocking_threads, blocking_threads);
  if (option == "blocking-queue")
    return parse_count(option, value, 1, std::numeric_limits<std::size_t>::max(),
                       blocking_queue_capacity);
  if (option == "shutdown-timeout") {
    std::size_t ms = 0;
    if (auto err = parse_count(option, value, 0, 24 * 3600 * 1000, ms))
      return err;
    shutdown_timeout = std::chrono::milliseconds{ms};
    return caf::none;
  }
  if (option == "scheduler") {
    if (value == "troupe")
      scheduler = scheduler_policy::troupe;
    else if (value == "caf_stealing")
      scheduler = scheduler_policy::caf_stealing;
    else if (value == "caf_sharing")
      scheduler = scheduler_policy::caf_sharing;
    else
      return bad(config_errc::malformed_value, option, value);
    return caf::none;
  }
  if (option == "blocked-threshold") {
    std::size_t ms = 0;
    if (auto err = parse_count(option, value, 0, 3600 * 1000, ms))
      return err;
    blocked_threshold = std::chrono::milliseconds{ms};
    return caf::none;
  }
  if (option == "handle-signals" || option == "introspection") {
    auto& flag = option == "handle-signals" ? handle_signals : introspection;
    if (value == "true" || value == "1")
      flag = true;
    else if (value == "false" || value == "0")
      flag = false;
    else
      return bad(config_errc::malformed_value, option, value);
    return caf::none;
  }
  if (option == "topology-file") {
    topology_file = std::string{value};
    return caf::none;
  }
  if (option == "admin-port") {
    std::size_t port = 0;
    if (auto err = parse_count(option, value, 0, 65535, port))
      return err;
    admin_port = static_cast<uint16_t>(port);
    return caf::none;
  }
  if (option == "admin-address") {
    if (value.empty())
      return bad(config_errc::malformed_value, option, value);
    admin_address = std::string{value};
    return caf::none;
  }
  return bad(config_errc::unknown_option, option, value);
}

caf::error runtime_config::apply_environment(const char* const* envp) {
  if (envp == nullptr)
    return caf::none;
  for (; *envp != nullptr; ++envp) {
    std::string_view entry{*envp};
    // TROUPE_TEST_*: the test suite's own settings, seen by every example it runs.
    if (!entry.starts_with("TROUPE_") || entry.starts_with("TROUPE_TEST_"))
      continue;
    auto eq = entry.find('=');
    auto name = entry.substr(0, eq);
    auto value = eq == std::string_view::npos ? std::string_view{} : entry.substr(eq + 1);
    auto known = std::find_if(option_names.begin(), option_names.end(),
                              [&](std::string_view option) { return env_name(option) == name; });
    if (known == option_names.end())
      return bad(config_errc::unknown_option, name, value);
    if (auto err = set(*known, value))
      return bad(static_cast<config_errc>(err.code()), name, value);
  }
  return caf::none;
}

caf::error runtime_config::apply_arguments(int argc, const char* const* argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg{argv[i]};
    if (!arg.starts_with("--")) {
      remainder.emplace_back(arg);
      continue;
    }
    arg.remove_prefix(2);
    auto eq = arg.find('=');
    std::string_view name = arg.substr(0, eq);
    std::string_view value;
    if (eq != std::string_view::npos) {
      value = arg.substr(eq + 1);
    } else if (i + 1 < argc && !std::string_view{argv[i + 1]}.starts_with("--")) {
      value = argv[++i];
    } else if (std::find(option_names.begin(), option_names.end(), name) != option_names.end()) {
      return bad(config_errc::malformed_value, name, "");
    }
    if (auto err = set(name, value))
      return err;
  }
  return caf::none;
}

caf::error runtime_config::validate() const {
  if (workers > max_workers)
    return bad(config_errc::out_of_range, "workers", std::to_string(workers));
  if (flavor == flavor::current_thread && workers > 1)
    return bad(config_errc::conflicting_options, "workers",
               std::to_string(workers) + " with flavor=current_thread");
  if (max_throughput == 0)
    return bad(config_errc::out_of_range, "max-throughput", "0");
  if (blocking_threads == 0 || blocking_threads > max_blocking_threads)
    return bad(config_errc::out_of_range, "blocking-threads", std::to_string(blocking_threads));
  if (blocking_queue_capacity == 0)
    return bad(config_errc::out_of_range, "blocking-queue", "0");
  return caf::none;
}

std::size_t runtime_config::effective_workers() const noexcept {
  if (flavor == flavor::current_thread)
    return 1;
  if (workers != 0)
    return workers;
  return std::max(1u, std::thread::hardware_concurrency());
}

caf::expected<runtime_config> runtime_config::from(int argc, const char* const* argv) {
  runtime_config cfg;
  if (auto err = cfg.apply_environment(environ))
    return err;
  if (auto err = cfg.apply_arguments(argc, argv))
    return err;
  if (auto err = cfg.validate())
    return err;
  return cfg;
}

} // namespace troupe
