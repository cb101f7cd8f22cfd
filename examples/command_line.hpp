#pragma once
// The examples' one command-line preamble: Troupe's runtime options (`--workers=2`, TROUPE_*
// variables) and the example's own `key=value` arguments, every one checked. `--help` prints the
// example's arguments and the runtime's options to stdout (exit 0); a bad or unknown argument
// is named on stderr (exit 2). Nothing is silently defaulted.
//
// Example:
//
//   int main(int argc, char** argv) {
//     example::command_line cli{argc, argv, "service_demo: a job-processing service",
//                               {{"run-for", "MS", "run time in ms", 6000, 0, 86'400'000}}};
//     if (cli.done())
//       return cli.exit_code();
//     troupe::runtime rt{cli.config()};
//     auto run_for = cli.integer("run-for");
//
// Thread safety: build and read it on one thread (main's).
#include <charconv>
#include <cstdint>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <troupe/troupe.hpp>

namespace example {

/// One `key=value` argument of an example: an integer in [min, max], or text when `is_text`.
struct argument {
  std::string_view key;
  std::string_view value_name; ///< placeholder in the usage: "MS", "PORT", "PATH"
  std::string_view meaning;
  int64_t fallback = 0;
  int64_t min = 0;
  int64_t max = 0;
  bool is_text = false;
  std::string_view text_fallback = {};
};

/// A text argument: `text("host", "H", "server address", "127.0.0.1")`.
inline argument text(std::string_view key, std::string_view value_name, std::string_view meaning,
                     std::string_view fallback) {
  return argument{key, value_name, meaning, 0, 0, 0, true, fallback};
}

class command_line {
public:
  command_line(int argc, char** argv, std::string_view about, std::vector<argument> arguments)
      : arguments_(std::move(arguments)) {
    std::string_view program = argc > 0 ? argv[0] : "example";
    if (auto slash = program.rfind('/'); slash != std::string_view::npos)
      program.remove_prefix(slash + 1);
    auto cfg = troupe::runtime_config::from(argc, argv);
    if (!cfg) {
      fail(program, troupe::render(cfg.error()));
      return;
    }
    if (cfg->help) {
      std::cout << about << "\n\nusage: " << program << " [key=value...] [--option=value...]\n";
      if (!arguments_.empty())
        std::cout << program << "'s arguments (default in parentheses):\n";
      for (const auto& a : arguments_) {
        std::cout << "  " << a.key << "=" << a.value_name << "  " << a.meaning << " (";
        if (a.is_text)
          std::cout << a.text_fallback;
        else
          std::cout << a.fallback << "; " << a.min << ".." << a.max;
        std::cout << ")\n";
      }
      std::cout << troupe::runtime_config::usage();
      exit_code_ = 0;
      return;
    }
    for (const auto& a : arguments_)
      values_.push_back(a.is_text ? std::string{a.text_fallback} : std::to_string(a.fallback));
    for (const auto& arg : cfg->remainder)
      if (auto problem = take(arg)) {
        fail(program, *problem);
        return;
      }
    cfg->remainder.clear();
    config_ = std::move(*cfg);
  }

  /// True when main should return exit_code() now (after --help, or on a bad argument).
  [[nodiscard]] bool done() const noexcept { return exit_code_.has_value(); }
  [[nodiscard]] int exit_code() const noexcept { return exit_code_.value_or(0); }

  /// The runtime configuration (valid when !done()).
  [[nodiscard]] troupe::runtime_config& config() noexcept { return config_; }

  [[nodiscard]] int64_t integer(std::string_view key) const {
    int64_t out = 0;
    const auto& v = value(key);
    std::from_chars(v.data(), v.data() + v.size(), out); // checked when parsed
    return out;
  }

  [[nodiscard]] const std::string& value(std::string_view key) const {
    for (std::size_t i = 0; i < arguments_.size(); ++i)
      if (arguments_[i].key == key)
        return values_[i];
    throw std::logic_error("example: no argument " + std::string{key});
  }

private:
  void fail(std::string_view program, const std::string& why) {
    std::cerr << program << ": " << why << " (try --help)\n";
    exit_code_ = 2;
  }

  // The reason `arg` is not acceptable, or nothing (then its value is stored).
  std::optional<std::string> take(std::string_view arg) {
    auto eq = arg.find('=');
    auto key = arg.substr(0, eq);
    for (std::size_t i = 0; i < arguments_.size(); ++i) {
      const auto& a = arguments_[i];
      if (a.key != key)
        continue;
      if (eq == std::string_view::npos)
        return "argument '" + std::string{arg} + "' needs a value: " + std::string{key} + "=" +
               std::string{a.value_name};
      auto text = arg.substr(eq + 1);
      if (!a.is_text) {
        int64_t n = 0;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
        if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || n < a.min ||
            n > a.max)
          return "argument " + std::string{key} + "='" + std::string{text} +
                 "' is not a whole number in " + std::to_string(a.min) + ".." +
                 std::to_string(a.max);
      }
      values_[i] = std::string{text};
      return std::nullopt;
    }
    std::string known;
    for (const auto& a : arguments_)
      known += (known.empty() ? "" : ", ") + std::string{a.key} + "=";
    return "unknown argument '" + std::string{arg} + "'" +
           (known.empty() ? std::string{" (this example takes none)"}
                          : " (this example takes " + known + ")");
  }

  std::vector<argument> arguments_;
  std::vector<std::string> values_;
  troupe::runtime_config config_;
  std::optional<int> exit_code_;
};

} // namespace example
