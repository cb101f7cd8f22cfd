// Shared helpers for the benchmark executables (raw-CAF twins and Troupe versions).
//
// Header-only. Provides, in namespace troupe::bench:
//   - scale() / scaled(base_n): the SCALE environment variable (positive double, default 1);
//     n = max(1, round(base_n * SCALE)).
//   - stopwatch: steady-clock stopwatch.
//   - rss_bytes(): resident set size from /proc/self/statm.
//   - report(...): prints one JSON line per result on stdout, e.g.
//       {"system":"caf","bench":"ping_pong","n":1000000,"seconds":0.83,"rate":1204819,
//        "unit":"round_trips/s"}
//     plus optional extra fields appended after "unit".
//   - check(ok, what): on failure prints to stderr and terminates the process with exit code 1.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <sys/resource.h>
#include <unistd.h>

namespace troupe::bench {

/// Exit code used when a benchmark detects a wrong result.
inline constexpr int check_failed_exit_code = 1;

/// Exit code used for usage errors (bad SCALE, unknown workload name).
inline constexpr int usage_exit_code = 2;

/// Prints `what` to stderr and terminates the process with a non-zero exit code when `ok` is
/// false. Safe to call from any thread: it flushes stdio and uses std::_Exit, so it does not
/// run static destructors while actor runtimes still have worker threads running.
inline void check(bool ok, const char* what) {
  if (ok)
    return;
  std::fflush(stdout);
  std::fprintf(stderr, "benchmark check failed: %s\n", what);
  std::fflush(stderr);
  std::_Exit(check_failed_exit_code);
}

/// Returns the SCALE environment variable (a positive double), 1.0 if unset or empty.
/// Terminates with usage_exit_code if SCALE is set but not a positive finite number.
inline double scale() {
  const char* env = std::getenv("SCALE");
  if (env == nullptr || *env == '\0')
    return 1.0;
  char* end = nullptr;
  double value = std::strtod(env, &end);
  if (end == env || *end != '\0' || !std::isfinite(value) || value <= 0.0) {
    std::fprintf(stderr, "invalid SCALE '%s': expected a positive number\n", env);
    std::_Exit(usage_exit_code);
  }
  return value;
}

/// Returns max(1, round(base_n * SCALE)).
inline std::uint64_t scaled(std::uint64_t base_n) {
  double n = std::round(static_cast<double>(base_n) * scale());
  return n < 1.0 ? 1 : static_cast<std::uint64_t>(n);
}

/// worker_pool: the work of one job, identical for every system. Job `j` sums the 100 integers
/// 100*j, 100*j+1, ..., 100*j+99.
inline constexpr std::uint64_t worker_pool_job_size = 100;

inline std::uint64_t worker_pool_job_sum(std::uint64_t job) {
  std::uint64_t sum = 0;
  for (std::uint64_t k = 0; k < worker_pool_job_size; ++k)
    sum += job * worker_pool_job_size + k;
  return sum;
}

/// worker_pool: the expected total over jobs 0..n-1, i.e. 0 + 1 + ... + (100*n - 1).
inline std::uint64_t worker_pool_expected_total(std::uint64_t n) {
  std::uint64_t m = n * worker_pool_job_size;
  return m % 2 == 0 ? m / 2 * (m - 1) : (m - 1) / 2 * m;
}

/// A steady-clock stopwatch that starts running on construction.
class stopwatch {
public:
  using clock = std::chrono::steady_clock;

  stopwatch() : start_(clock::now()) {}

  /// Restarts the measurement.
  void reset() { start_ = clock::now(); }

  /// Seconds elapsed since construction or the last reset().
  double seconds() const { return std::chrono::duration<double>(clock::now() - start_).count(); }

private:
  clock::time_point start_;
};

/// Current resident set size in bytes (second field of /proc/self/statm times the page size),
/// or 0 if it cannot be read.
inline std::uint64_t rss_bytes() {
  std::ifstream in{"/proc/self/statm"};
  std::uint64_t size_pages = 0;
  std::uint64_t resident_pages = 0;
  if (!(in >> size_pages >> resident_pages))
    return 0;
  long page = ::sysconf(_SC_PAGESIZE);
  return resident_pages * static_cast<std::uint64_t>(page > 0 ? page : 4096);
}

/// Peak resident set size in bytes (VmHWM of /proc/self/status), or 0 if it cannot be read.
inline std::uint64_t peak_rss_bytes() {
  std::ifstream in{"/proc/self/status"};
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0)
      return std::strtoull(line.c_str() + 6, nullptr, 10) * 1024; // the kernel prints kB
  return 0;
}

/// actor_churn: at most this many of its short-lived actors are alive at any time.
inline constexpr std::uint64_t actor_churn_window = 10'000;

/// Builds the JSON object for one result: system, bench, n, seconds, rate (= n / seconds,
/// rounded to an integer), unit, then every field of `extra` (a JSON object) in its order.
inline nlohmann::ordered_json make_result(std::string_view system, std::string_view bench,
                                          std::uint64_t n, double seconds, std::string_view unit,
                                          const nlohmann::ordered_json& extra = {}) {
  nlohmann::ordered_json line;
  line["system"] = system;
  line["bench"] = bench;
  line["n"] = n;
  // Microsecond resolution is plenty and keeps the line short.
  line["seconds"] = std::round(seconds * 1e6) / 1e6;
  line["rate"] = seconds > 0 ? std::llround(static_cast<double>(n) / seconds) : 0;
  line["unit"] = unit;
  if (extra.is_object())
    for (const auto& [key, value] : extra.items())
      line[key] = value;
  return line;
}

/// Prints one result as a single JSON line on stdout and flushes it.
inline void report(std::string_view system, std::string_view bench, std::uint64_t n, double seconds,
                   std::string_view unit, const nlohmann::ordered_json& extra = {}) {
  std::cout << make_result(system, bench, n, seconds, unit, extra).dump() << std::endl;
}

} // namespace troupe::bench

namespace troupe::bench {

/// CPU time (user + system) this process has used so far, in microseconds.
inline std::uint64_t cpu_microseconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  auto us = [](const timeval& tv) {
    return static_cast<std::uint64_t>(tv.tv_sec) * 1'000'000u +
           static_cast<std::uint64_t>(tv.tv_usec);
  };
  return us(usage.ru_utime) + us(usage.ru_stime);
}

/// Measures what an idle runtime costs: CPU used while nothing is scheduled, over `seconds`.
/// Reported as CPU microseconds per second (10,000 = 1% of one core). The sleep is the
/// measurement itself, not a synchronisation.
inline void report_idle_cpu(std::string_view system, double seconds) {
  std::this_thread::sleep_for(std::chrono::milliseconds{200}); // let start-up work settle
  auto before = cpu_microseconds();
  stopwatch sw;
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  auto used = cpu_microseconds() - before;
  report(system, "idle_cpu", used, sw.seconds(), "cpu_us/s",
         {{"cpu_percent", static_cast<double>(used) / (sw.seconds() * 1e4)}});
}

/// One named workload of a benchmark binary.
struct workload {
  std::string_view name;
  void (*run)();
};

/// The main() of a benchmark binary: runs the workloads named on the command line (all of them
/// without arguments), in the given order. An unknown name exits with usage_exit_code, which
/// bench/run.sh reads as "not implemented by this system".
template <std::size_t N>
int run_workloads(const workload (&all)[N], int argc, char** argv) {
  std::vector<const workload*> selected;
  for (int i = 1; i < argc; ++i) {
    const workload* found = nullptr;
    for (const auto& w : all)
      if (w.name == argv[i])
        found = &w;
    if (found == nullptr) {
      std::fprintf(stderr, "unknown workload '%s'; known:", argv[i]);
      for (const auto& w : all)
        std::fprintf(stderr, " %.*s", static_cast<int>(w.name.size()), w.name.data());
      std::fprintf(stderr, "\n");
      return usage_exit_code;
    }
    selected.push_back(found);
  }
  if (selected.empty())
    for (const auto& w : all)
      selected.push_back(&w);
  scale(); // validate SCALE before running anything
  for (const auto* w : selected)
    w->run();
  return 0;
}

} // namespace troupe::bench
