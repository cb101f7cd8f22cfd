#pragma once

// Configuration of a troupe::runtime, from code, from the environment and from argv.
//
// Example:
//
//   auto cfg = troupe::runtime_config::from(argc, argv);   // TROUPE_* env, then --options
//   if (!cfg) {
//     std::cerr << troupe::render(cfg.error()) << '\n';   // names the bad option and value
//     return 2;
//   }
//   if (cfg->help) {
//     std::cout << troupe::runtime_config::usage();
//     return 0;
//   }
//   troupe::runtime rt{*cfg};
//
// Options: runtime_config::options() is the one table (argv name, environment name, value,
// default, meaning) that argv, the environment, set() and usage() follow; the README's
// Configuration table lists the same rows. `--help` sets `help` (validation is skipped) so the
// application can print usage() and exit 0.
//
// Variables under TROUPE_TEST_ belong to Troupe's own test suite (e.g. TROUPE_TEST_DEADLINE_S)
// and are not options. Later sources override earlier ones: defaults, then code, then
// environment, then argv.
// Arguments that do not start with `--` are left for the application in `remainder`.
//
// Errors: every rejection is a config_errc with the option and the value as context (an
// unknown option also names the closest known one, when one is close); nothing is silently
// defaulted.
//
// Thread safety: a runtime_config is a plain value; options(), usage() and closest_option() may
// be called from any thread.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "troupe/scheduler/result.hpp"

namespace troupe {

/// How the runtime schedules actors.
/// Which scheduling policy runs the actors. CAF's own stay selectable for comparison.
enum class scheduler_policy {
  /// Troupe's work stealing: LIFO slot, O(1) steals, parking idle workers.
  troupe,
  /// CAF 0.17's work stealing.
  caf_stealing,
  /// CAF 0.17's work sharing (one queue under a mutex).
  caf_sharing,
};

[[nodiscard]] const char* to_string(scheduler_policy p) noexcept;

enum class flavor {
  /// A pool of worker threads with work stealing.
  multi_thread,
  /// Exactly one worker thread: everything runs serially, as in a single-threaded executor.
  current_thread,
};

[[nodiscard]] const char* to_string(flavor f) noexcept;

/// One row of the option table.
struct config_option {
  std::string_view name;          ///< argv name, without `--`: "workers"
  std::string_view env;           ///< environment name: "TROUPE_WORKERS"
  std::string_view value;         ///< placeholder of the value: "N", "MS", "B", "PATH"
  std::string_view default_value; ///< the default, as a user reads it: "one per core"
  std::string_view meaning;       ///< one line for usage(): what the option does
};

/// The configuration of a runtime: set the fields in code, or let from() read the environment
/// and argv. Later sources override earlier ones: defaults, code, environment, argv.
struct runtime_config {
  /// Scheduler worker threads; 0 means "one per hardware thread".
  std::size_t workers = 0;
  /// multi_thread (the default) or current_thread, which needs `workers` 0 or 1.
  troupe::flavor flavor = flavor::multi_thread;
  /// Messages an actor may handle before it yields its worker to other actors.
  std::size_t max_throughput = 300;
  /// Dedicated threads for spawn_blocking; never scheduler workers.
  std::size_t blocking_threads = 8;
  /// Jobs the blocking pool may hold waiting for a thread; more are rejected, not queued.
  std::size_t blocking_queue_capacity = 4096;
  /// Default deadline of a graceful shutdown (runtime::shutdown() and the destructor).
  std::chrono::milliseconds shutdown_timeout{5000};
  /// Which scheduler runs the actors; Troupe's own by default.
  troupe::scheduler_policy scheduler = scheduler_policy::troupe;
  /// A handler holding a worker longer than this is reported (Troupe's scheduler only); 0: off.
  std::chrono::milliseconds blocked_threshold{100};
  /// SIGINT and SIGTERM make runtime::run_until_stopped shut down gracefully (the guide's
  /// ctrl_c). Only one runtime at a time may handle signals.
  bool handle_signals = false;
  /// Where SIGUSR1 writes the topology (with handle_signals); empty: stderr.
  std::string topology_file;
  /// The admin endpoint's port: unset means no endpoint; 0 picks a free port.
  std::optional<uint16_t> admin_port;
  /// The admin endpoint's address; loopback unless asked otherwise.
  std::string admin_address = "127.0.0.1";
  /// Keeps the registry behind runtime::topology(); off, dumps list no actors.
  bool introspection = true;
  /// Arguments that were not options, in their original order.
  std::vector<std::string> remainder;
  /// `--help` was given: print usage() and exit 0 (from() skips validate() then).
  bool help = false;

  /// Every runtime option, in the order usage() lists them.
  [[nodiscard]] static std::span<const config_option> options() noexcept;

  /// The usage listing generated from options(), one line per option, ending in a newline.
  [[nodiscard]] static std::string usage();

  /// The known option nearest to a misspelt one (argv or environment spelling), or empty when
  /// none is close: closest_option("wrokers") == "workers".
  [[nodiscard]] static std::string_view closest_option(std::string_view name);

  /// Checks the values and their combination. Does not change anything.
  [[nodiscard]] caf::error validate() const;

  /// The worker count the runtime will actually use (resolves 0 and the flavor).
  [[nodiscard]] std::size_t effective_workers() const noexcept;

  /// Applies one option given by its argv name (without `--`) and textual value.
  [[nodiscard]] caf::error set(std::string_view option, std::string_view value);

  /// Applies `TROUPE_*` variables from an environment block (as `environ`: "K=V" strings,
  /// null-terminated). Variables that do not start with `TROUPE_` are ignored; an unknown
  /// `TROUPE_` variable is an error.
  [[nodiscard]] caf::error apply_environment(const char* const* envp);

  /// Applies `--name=value` / `--name value` arguments; argv[0] is skipped.
  [[nodiscard]] caf::error apply_arguments(int argc, const char* const* argv);

  /// Defaults, then the process environment, then argv, then validate().
  [[nodiscard]] static troupe::result<runtime_config> from(int argc, const char* const* argv);
};

} // namespace troupe
