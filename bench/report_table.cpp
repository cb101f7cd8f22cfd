// Reads benchmark JSON lines (one result per line: troupe_benchmarks, caf_benchmarks and the peer
// harnesses' "tokio" and "erlang" lines) on stdin and prints one table row per workload: each
// system's rate, Troupe / raw CAF and Troupe / best peer. When a workload ran several times, the
// table shows the median of each system's rates. A Troupe line may name the workload whose peer
// rows it compares with ("peer_bench": a variant such as worker_pool_posted, which the peers do
// not run under its own name): its row then shows those peers' rates. Exits non-zero when a line
// is not a result.
//
// The Tokio harness's spawn line times something else than the spec's spawn: its "rate" is a
// timed part of tasks that reply once and end, and the spec's actors kept alive are its
// untimed "memory" part, reported as idle_spawn_seconds for idle_actors actors (the harness's
// NOTES: "Its rate is n / idle_spawn_seconds"). The table takes that keep-alive rate, which
// leaves out the stop the spec also times (so it favours Tokio), and says so under the table.

#include <algorithm>
#include <array>
#include <cstdio>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace {

// Column order of the table; a system missing from the input shows as "-".
constexpr std::array<const char*, 4> systems{"troupe", "caf", "erlang", "tokio"};
constexpr std::size_t troupe_col = 0;
constexpr std::size_t caf_col = 1;

double median(std::vector<double> xs) {
  if (xs.empty())
    return 0.0;
  std::sort(xs.begin(), xs.end());
  auto n = xs.size();
  return n % 2 == 1 ? xs[n / 2] : (xs[n / 2 - 1] + xs[n / 2]) / 2;
}

std::string format_rate(double x) {
  char buf[32];
  if (x <= 0)
    return "-";
  std::snprintf(buf, sizeof buf, x >= 1e6 ? "%.2fM" : "%.0fk", x >= 1e6 ? x / 1e6 : x / 1e3);
  return buf;
}

std::string format_ratio(double num, double den) {
  if (num <= 0 || den <= 0)
    return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2fx", num / den);
  return buf;
}

// The Tokio harness's spawn line, whose keep-alive phase the table compares (see the top).
bool reports_keep_alive_phase(const nlohmann::json& j) {
  return j.contains("idle_spawn_seconds") && j.contains("idle_actors");
}

// The rate to compare: a line's "rate", except the Tokio harness's spawn line.
double comparable_rate(const nlohmann::json& j) {
  if (!reports_keep_alive_phase(j))
    return j["rate"].get<double>();
  auto seconds = j["idle_spawn_seconds"].get<double>();
  return seconds > 0 ? j["idle_actors"].get<double>() / seconds : 0.0;
}

} // namespace

int main() {
  struct row {
    std::array<std::vector<double>, systems.size()> rates;
    std::string unit;
    std::string peer_bench; // whose peer rates the row shows; empty: its own
  };
  std::map<std::string, row> rows;
  std::vector<std::string> order;
  bool keep_alive_rate_used = false;
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.empty())
      continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.contains("bench") || !j.contains("rate") || !j.contains("system")) {
      std::cerr << "not a benchmark result: " << line << '\n';
      return 1;
    }
    auto system = j["system"].get<std::string>();
    auto col = std::find(systems.begin(), systems.end(), system);
    if (col == systems.end()) {
      std::cerr << "unknown system \"" << system << "\": " << line << '\n';
      return 1;
    }
    auto bench = j["bench"].get<std::string>();
    if (!rows.count(bench))
      order.push_back(bench);
    auto& r = rows[bench];
    r.unit = j.value("unit", "");
    if (auto peer_bench = j.value("peer_bench", std::string{}); !peer_bench.empty())
      r.peer_bench = peer_bench;
    r.rates[static_cast<std::size_t>(col - systems.begin())].push_back(comparable_rate(j));
    keep_alive_rate_used = keep_alive_rate_used || reports_keep_alive_phase(j);
  }
  std::printf(
      "| workload | unit | troupe | raw CAF | Erlang | Tokio | troupe/CAF | troupe/best peer "
      "| runs |\n"
      "|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
  for (auto& name : order) {
    auto& r = rows[name];
    std::array<double, systems.size()> med{};
    std::size_t runs = 0;
    for (std::size_t i = 0; i < systems.size(); ++i) {
      med[i] = median(r.rates[i]);
      runs = std::max(runs, r.rates[i].size());
    }
    if (auto peers = rows.find(r.peer_bench); !r.peer_bench.empty() && peers != rows.end())
      for (std::size_t i = caf_col + 1; i < systems.size(); ++i)
        med[i] = median(peers->second.rates[i]);
    // The peers are the systems other than Troupe and the CAF it is built on.
    double best_peer = 0;
    for (std::size_t i = caf_col + 1; i < systems.size(); ++i)
      best_peer = std::max(best_peer, med[i]);
    std::printf("| %s | %s | %s | %s | %s | %s | %s | %s | %zu |\n", name.c_str(), r.unit.c_str(),
                format_rate(med[0]).c_str(), format_rate(med[1]).c_str(),
                format_rate(med[2]).c_str(), format_rate(med[3]).c_str(),
                format_ratio(med[troupe_col], med[caf_col]).c_str(),
                format_ratio(med[troupe_col], best_peer).c_str(), runs);
  }
  if (keep_alive_rate_used)
    std::printf("\nspawn, Tokio: its actors kept alive (idle_actors / idle_spawn_seconds, the stop "
                "not timed); its line's own rate times tasks that reply once and end.\n");
  return 0;
}
