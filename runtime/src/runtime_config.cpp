#include "troupe/runtime/runtime_config.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <limits>
#include <thread>
#include <vector>

#include <arpa/inet.h>

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

caf::error parse_flag(std::string_view option, std::string_view value, bool& out) {
  if (value == "true" || value == "1")
    out = true;
  else if (value == "false" || value == "0")
    out = false;
  else
    return bad(config_errc::malformed_value, option, value);
  return caf::none;
}

caf::error parse_ms(std::string_view option, std::string_view value, std::size_t max,
                    std::chrono::milliseconds& out) {
  std::size_t ms = 0;
  if (auto err = parse_count(option, value, 0, max, ms))
    return err;
  out = std::chrono::milliseconds{ms};
  return caf::none;
}

using setter = caf::error (*)(runtime_config&, std::string_view option, std::string_view value);

struct option_row {
  config_option info;
  setter set;
};

constexpr auto unbounded = std::numeric_limits<std::size_t>::max();

// The one option table: argv, the environment, set(), usage() and the README's table all follow
// it (tests/scheduler/runtime_config_test.cpp checks the README against options()).
constexpr std::array option_table{
    option_row{
        {"workers", "TROUPE_WORKERS", "N", "one per core", "scheduler worker threads (1..1024)"},
        [](runtime_config& c, std::string_view o, std::string_view v) {
          return parse_count(o, v, 1, max_workers, c.workers);
        }},
    option_row{{"flavor", "TROUPE_FLAVOR", "F", "multi_thread",
                "multi_thread or current_thread (exactly one worker)"},
               [](runtime_config& c, std::string_view o, std::string_view v) {
                 if (v == "multi_thread")
                   c.flavor = flavor::multi_thread;
                 else if (v == "current_thread")
                   c.flavor = flavor::current_thread;
                 else
                   return bad(config_errc::malformed_value, o, v);
                 return caf::error{};
               }},
    option_row{{"max-throughput", "TROUPE_MAX_THROUGHPUT", "N", "300",
                "messages an actor handles before yielding its worker"},
               [](runtime_config& c, std::string_view o, std::string_view v) {
                 return parse_count(o, v, 1, unbounded, c.max_throughput);
               }},
    option_row{{"blocking-threads", "TROUPE_BLOCKING_THREADS", "N", "8",
                "threads of the blocking pool, started on demand"},
               [](runtime_config& c, std::string_view o, std::string_view v) {
                 return parse_count(o, v, 1, max_blocking_threads, c.blocking_threads);
               }},
    option_row{{"blocking-queue", "TROUPE_BLOCKING_QUEUE", "N", "4096",
                "blocking jobs that may wait; more are rejected (blocking_queue_full)"},
               [](runtime_config& c, std::string_view o, std::string_view v) {
                 return parse_count(o, v, 1, unbounded, c.blocking_queue_capacity);
               }},
    option_row{{"shutdown-timeout", "TROUPE_SHUTDOWN_TIMEOUT", "MS", "5000",
                "deadline of the graceful shutdown the destructor runs"},
               [](runtime_config& c, std::string_view o, std::string_view v) {
                 return parse_ms(o, v, 24 * 3600 * 1000, c.shutdown_timeout);
               }},
    option_row{{"scheduler", "TROUPE_SCHEDULER", "P", "troupe",
                "troupe (Troupe's work stealing), caf_stealing or caf_sharing (CAF's)"},
               [](runtime_config& c, std::string_view o, std::string_view v) {
                 if (v == "troupe")
                   c.scheduler = scheduler_policy::troupe;
                 else if (v == "caf_stealing")
                   c.scheduler = scheduler_policy::caf_stealing;
                 else if (v == "caf_sharing")
                   c.scheduler = scheduler_policy::caf_sharing;
                 else
                   return bad(config_errc::malformed_value, o, v);
                 return caf::error{};
               }},
    option_row{{"blocked-threshold", "TROUPE_BLOCKED_THRESHOLD", "MS", "100",
                "report a handler holding a worker longer than this (0: off)"},
               [](runtime_config& c, std::string_view o, std::string_view v) {
                 return parse_ms(o, v, 3600 * 1000, c.blocked_threshold);
               }},
    option_row{{"handle-signals", "TROUPE_HANDLE_SIGNALS", "B", "false",
                "SIGINT/SIGTERM end runtime::run_until_stopped with a graceful shutdown; "
                "SIGUSR1 dumps the topology"},
               [](runtime_config& c, std::string_view o, std::string_view v) {
                 return parse_flag(o, v, c.handle_signals);
               }},
    option_row{{"topology-file", "TROUPE_TOPOLOGY_FILE", "PATH", "stderr",
                "where SIGUSR1 writes the topology"},
               [](runtime_config& c, std::string_view o, std::string_view v) {
                 if (v.empty())
                   return bad(config_errc::malformed_value, o, v);
                 c.topology_file = std::string{v};
                 return caf::error{};
               }},
    option_row{{"admin-port", "TROUPE_ADMIN_PORT", "N", "off",
                "serve the live view (GET /), GET /topology and GET /metrics (0: any free "
                "port, see runtime::admin_port())"},
               [](runtime_config& c, std::string_view o, std::string_view v) {
                 std::size_t port = 0;
                 if (auto err = parse_count(o, v, 0, 65535, port))
                   return err;
                 c.admin_port = static_cast<uint16_t>(port);
                 return caf::error{};
               }},
    option_row{{"admin-address", "TROUPE_ADMIN_ADDRESS", "A", "127.0.0.1",
                "dotted IPv4 address the admin endpoint binds to"},
               [](runtime_config& c, std::string_view o, std::string_view v) {
                 in_addr addr{};
                 if (::inet_pton(AF_INET, std::string{v}.c_str(), &addr) != 1)
                   return bad(config_errc::malformed_value, o, v);
                 c.admin_address = std::string{v};
                 return caf::error{};
               }},
    option_row{{"introspection", "TROUPE_INTROSPECTION", "B", "true",
                "keep the registry behind runtime::topology()"},
               [](runtime_config& c, std::string_view o, std::string_view v) {
                 return parse_flag(o, v, c.introspection);
               }},
};

constexpr auto public_options = [] {
  std::array<config_option, option_table.size()> out{};
  for (std::size_t i = 0; i < option_table.size(); ++i)
    out[i] = option_table[i].info;
  return out;
}();

const option_row* find_option(std::string_view name) {
  auto i = std::find_if(option_table.begin(), option_table.end(),
                        [&](const option_row& row) { return row.info.name == name; });
  return i == option_table.end() ? nullptr : &*i;
}

// Edit distance (insertions, deletions, substitutions, adjacent swaps): how far a typo is.
std::size_t distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i)
    d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j)
    d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i)
    for (std::size_t j = 1; j <= b.size(); ++j) {
      auto cost = a[i - 1] == b[j - 1] ? 0u : 1u;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.size()][b.size()];
}

// unknown_option, with the closest known spelling as a third context element when there is one.
caf::error unknown(std::string_view option, std::string_view value, bool env) {
  auto suggestion = runtime_config::closest_option(option);
  if (suggestion.empty())
    return bad(config_errc::unknown_option, option, value);
  auto* row = find_option(suggestion);
  auto hint = std::string{"did you mean "} +
              (env ? std::string{row->info.env} : "--" + std::string{row->info.name}) + "?";
  return make_error(config_errc::unknown_option, std::string{option}, std::string{value},
                    std::move(hint));
}

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

std::span<const config_option> runtime_config::options() noexcept {
  return public_options;
}

std::string_view runtime_config::closest_option(std::string_view name) {
  // Accept the environment spelling too: TROUPE_WROKERS -> workers.
  std::string lowered;
  auto plain = name;
  if (plain.starts_with("TROUPE_"))
    plain.remove_prefix(7);
  for (char c : plain)
    lowered += c == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string_view best;
  auto best_distance = std::numeric_limits<std::size_t>::max();
  for (const auto& row : option_table) {
    auto d = distance(lowered, row.info.name);
    if (d < best_distance) {
      best_distance = d;
      best = row.info.name;
    }
  }
  // Farther than a third of the name is not a typo of it.
  return best_distance <= std::max<std::size_t>(1, best.size() / 3) ? best : std::string_view{};
}

std::string runtime_config::usage() {
  std::string out = "Troupe runtime options (argv form, environment form, default: meaning):\n";
  for (const auto& o : options()) {
    std::string left = "  --" + std::string{o.name} + "=" + std::string{o.value};
    left.resize(std::max<std::size_t>(left.size() + 1, 26), ' ');
    left += std::string{o.env};
    left.resize(std::max<std::size_t>(left.size() + 1, 52), ' ');
    out += left + "(" + std::string{o.default_value} + ") " + std::string{o.meaning} + "\n";
  }
  out += "  --help                  print this listing\n"
         "Later sources win: defaults, code, environment, argv.\n";
  return out;
}

caf::error runtime_config::set(std::string_view option, std::string_view value) {
  if (auto* row = find_option(option))
    return row->set(*this, option, value);
  return unknown(option, value, false);
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
    auto known = std::find_if(option_table.begin(), option_table.end(),
                              [&](const option_row& row) { return row.info.env == name; });
    if (known == option_table.end()) {
      // The environment is shared with scripts and tools that use the same prefix (troupe.sh's
      // TROUPE_CMAKE_ARGS): only a misspelling of an option is an error, other names are not ours.
      if (closest_option(name).empty())
        continue;
      return unknown(name, value, true);
    }
    if (auto err = known->set(*this, known->info.name, value))
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
    if (arg == "help") {
      help = true;
      continue;
    }
    auto eq = arg.find('=');
    std::string_view name = arg.substr(0, eq);
    std::string_view value;
    if (eq != std::string_view::npos) {
      value = arg.substr(eq + 1);
    } else if (i + 1 < argc && !std::string_view{argv[i + 1]}.starts_with("--")) {
      value = argv[++i];
    } else if (find_option(name) != nullptr) {
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
  if (in_addr addr{}; ::inet_pton(AF_INET, admin_address.c_str(), &addr) != 1)
    return bad(config_errc::malformed_value, "admin-address", admin_address);
  return caf::none;
}

std::size_t runtime_config::effective_workers() const noexcept {
  if (flavor == flavor::current_thread)
    return 1;
  if (workers != 0)
    return workers;
  return std::max(1u, std::thread::hardware_concurrency());
}

troupe::result<runtime_config> runtime_config::from(int argc, const char* const* argv) {
  runtime_config cfg;
  if (auto err = cfg.apply_environment(environ))
    return err;
  if (auto err = cfg.apply_arguments(argc, argv))
    return err;
  if (auto err = cfg.validate(); err && !cfg.help)
    return err;
  return cfg;
}

} // namespace troupe
