// Reads benchmark JSON lines (one result per line, from troupe_benchmarks and caf_benchmarks)
// on stdin and prints a table of both rates per workload with the troupe/CAF ratio. When a
// workload ran several times, the table shows the median of each system's rates.
// Exits non-zero when a line is not a result.

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

int main() {
  struct row {
    std::vector<double> troupe;
    std::vector<double> caf;
    std::string unit;
  };
  auto median = [](std::vector<double> xs) {
    if (xs.empty())
      return 0.0;
    std::sort(xs.begin(), xs.end());
    auto n = xs.size();
    return n % 2 == 1 ? xs[n / 2] : (xs[n / 2 - 1] + xs[n / 2]) / 2;
  };
  std::map<std::string, row> rows;
  std::vector<std::string> order;
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.empty())
      continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.contains("bench") || !j.contains("rate")) {
      std::cerr << "not a benchmark result: " << line << '\n';
      return 1;
    }
    auto bench = j["bench"].get<std::string>();
    if (!rows.count(bench))
      order.push_back(bench);
    auto& r = rows[bench];
    r.unit = j.value("unit", "");
    (j["system"] == "troupe" ? r.troupe : r.caf).push_back(j["rate"].get<double>());
  }
  std::printf("| workload | unit | troupe | raw CAF | troupe/CAF | runs |\n"
              "|---|---|---:|---:|---:|---:|\n");
  for (auto& name : order) {
    auto& rr = rows[name];
    struct {
      double troupe;
      double caf;
    } r{median(rr.troupe), median(rr.caf)};
    auto fmt = [](double x) {
      char buf[32];
      if (x <= 0)
        return std::string{"-"};
      std::snprintf(buf, sizeof buf, x >= 1e6 ? "%.2fM" : "%.0fk", x >= 1e6 ? x / 1e6 : x / 1e3);
      return std::string{buf};
    };
    char ratio[32] = "-";
    if (r.troupe > 0 && r.caf > 0)
      std::snprintf(ratio, sizeof ratio, "%.2fx", r.troupe / r.caf);
    std::printf("| %s | %s | %s | %s | %s | %zu |\n", name.c_str(), rr.unit.c_str(),
                fmt(r.troupe).c_str(), fmt(r.caf).c_str(), ratio,
                std::max(rr.troupe.size(), rr.caf.size()));
  }
  return 0;
}
