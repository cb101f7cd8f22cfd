// Reads benchmark JSON lines (one result per line, from troupe_benchmarks and caf_benchmarks)
// on stdin and prints a table of both rates per workload with the troupe/CAF ratio.
// Exits non-zero when a line is not a result.

#include <cstdio>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

int main() {
  struct row {
    double troupe = 0;
    double caf = 0;
    std::string unit;
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
    (j["system"] == "troupe" ? r.troupe : r.caf) = j["rate"].get<double>();
  }
  std::printf("| workload | unit | troupe | raw CAF | troupe/CAF |\n|---|---|---:|---:|---:|\n");
  for (auto& name : order) {
    auto& r = rows[name];
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
    std::printf("| %s | %s | %s | %s | %s |\n", name.c_str(), r.unit.c_str(), fmt(r.troupe).c_str(),
                fmt(r.caf).c_str(), ratio);
  }
  return 0;
}
