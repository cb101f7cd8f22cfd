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
//   troupe::runtime rt{*cfg};
//
// Options (argv form, environment form, meaning):
//
//   --workers=N           TROUPE_WORKERS           scheduler worker threads (default: cores)
//   --flavor=F            TROUPE_FLAVOR            multi_thread | current_thread (one worker)
//   --max-throughput=N    TROUPE_MAX_THROUGHPUT    messages per actor per resume (default: 300)
//   --blocking-threads=N  TROUPE_BLOCKING_THREADS  threads of the blocking pool (default: 8)
//   --blocking-queue=N    TROUPE_BLOCKING_QUEUE    jobs the blocking pool may queue (default: 4096)
//   --shutdown-timeout=MS TROUPE_SHUTDOWN_TIMEOUT  graceful-stop deadline in ms (default: 5000)
//   --scheduler=P         TROUPE_SCHEDULER         troupe | caf_stealing | caf_sharing
//   --blocked-threshold=MS TROUPE_BLOCKED_THRESHOLD report handlers holding a worker longer
//                                                  (default: 100; 0 disables the watchdog)
//   --handle-signals=B    TROUPE_HANDLE_SIGNALS    true | false: SIGINT/SIGTERM end
//                                                  runtime::run_until_stopped, SIGUSR1 dumps
//                                                  the topology (default: false)
//   --topology-file=PATH  TROUPE_TOPOLOGY_FILE     where SIGUSR1 writes it (default: stderr)
//   --admin-port=N        TROUPE_ADMIN_PORT        serve GET /topology and /metrics on
//                                                  admin-address:N (0: any free port; default: off)
//   --admin-address=A     TROUPE_ADMIN_ADDRESS     IPv4 address to bind (default: 127.0.0.1)
//   --introspection=B     TROUPE_INTROSPECTION     true | false: keep the topology registry
//                                                  (default: true)
//
// Variables under TROUPE_TEST_ belong to Troupe's own test suite (e.g. TROUPE_TEST_DEADLINE_S)
// and are not options. Later sources override earlier ones: defaults, then code, then
// environment, then argv.
// Arguments that do not start with `--` are left for the application in `remainder`.
//
// Errors: every rejection is a config_errc with the option and the value as context;
// nothing is silently defaulted.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

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

struct runtime_config {
  /// Scheduler worker threads; 0 means "one per hardware thread".
  std::size_t workers = 0;
  troupe::flavor flavor = flavor::multi_thread;
  /// Messages an actor may handle before it yields its worker to other actors.
  std::size_t max_throughput = 300;
  /// Dedicated threads for spawn_blocking; never scheduler workers.
  std::size_t blocking_threads = 8;
  /// Jobs the blocking pool may hold waiting for a thread; more are rejected, not queued.
  std::size_t blocking_queue_capacity = 4096;
  /// Default deadline of a graceful shutdown (runtime::shutdown() and the destructor).
  std::chrono::milliseconds shutdown_timeout{5000};
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
  [[nodiscard]] static caf::expected<runtime_config> from(int argc, const char* const* argv);
};

} // namespace troupe
