#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace troupe {

/// The Prometheus metric types a family can have.
enum class metric_type : uint8_t {
  gauge,   ///< A value that goes up and down.
  counter, ///< A value that only grows.
};

/// Where the samples of a family come from while a topology dump is walked. Families print in
/// this order (document families, then node, row and section families), each group in the
/// order its families were declared.
enum class metric_scope : uint8_t {
  /// The dump itself, once (path empty, entry the whole document): e.g. the runtime's own
  /// figures under `runtime`.
  document,
  /// Every actor node, trees first (depth first, rows in order), then free-standing actors.
  node,
  /// Every child row of a node, in the same walk.
  row,
  /// Every entry of the top-level section metric_family::section (a component's list).
  section,
};

/// What a sampler reads one sample from.
struct metric_source {
  /// Node scope: the node's path of names from its root ("root/pipeline/db"); row scope: the
  /// path of the node that holds the row; document and section scope: empty.
  std::string_view path;
  /// The node, the row, the section entry or the whole document, as the dump shows it.
  const nlohmann::json& entry;
  /// Row scope: the node that holds the row; otherwise nullptr.
  const nlohmann::json* parent = nullptr;
};

/// One label of a sample: its name and its (unescaped) value.
struct metric_label {
  std::string_view name;  ///< The label's name, e.g. `pool`.
  std::string_view value; ///< Its value; escaped when written.
};

/// Collects the samples of one family in Prometheus' text format (version 0.0.4).
class sample_writer {
public:
  /// Writes the samples of family `name` into `out`.
  sample_writer(std::string_view name, std::string& out) : name_(name), out_(out) {}

  /// Adds one sample. A `value` that is not a number (a figure the entry does not report) adds
  /// nothing, so a sampler may pass a missing field as it is.
  void add(std::initializer_list<metric_label> labels, const nlohmann::json& value);

private:
  std::string_view name_;
  std::string& out_;
};

/// One metric family a component contributes to `/metrics`: its name, type and help text,
/// where its samples come from and how one source becomes samples. A component defines it once
/// with static storage (an `inline constexpr` object) and declares it on each runtime it uses
/// (metric_registry::declare); the registry keeps its address.
///
/// Example (a component that lists gadgets in the topology section "gadgets"):
///
///   inline void sample_level(const metric_family& f, const metric_source& src,
///                            sample_writer& out) {
///     out.add({{"gadget", src.entry.value("name", "")}}, src.entry.value(f.field,
///     nlohmann::json{}));
///   }
///   inline constexpr metric_family gadget_level{"app_gadget_level", metric_type::gauge,
///       "Level of a gadget.", metric_scope::section, "gadgets", "level", &sample_level};
///   rt.metric_families().declare(gadget_level);
struct metric_family {
  /// Signature of a sampler: adds the samples of `source` to `out`.
  using sampler = void (*)(const metric_family& family, const metric_source& source,
                           sample_writer& out);

  std::string_view name;    ///< The family's name, e.g. `troupe_pool_queue_depth`.
  metric_type type;         ///< Gauge or counter.
  std::string_view help;    ///< The `# HELP` text.
  metric_scope scope;       ///< Where samples come from.
  std::string_view section; ///< Section scope: the top-level section whose entries it samples.
  std::string_view field;   ///< Free for the sampler, e.g. the entry's field holding the value.
  sampler sample;           ///< Turns one source into samples.
};

/// The metric families components declared on one runtime, rendered by the admin endpoint's
/// `/metrics` (the runtime declares its own figures as document families first).
///
/// Thread safety: every member may be called from any thread. declare() of a family already
/// declared takes no lock (components may declare on their spawn path); a declaration
/// happens-before every later families() that sees it.
class metric_registry {
public:
  /// How many families one runtime can hold; declarations beyond are ignored.
  static constexpr std::size_t capacity = 64;

  /// Declares `family` (which must outlive the runtime); a family of the same name declared
  /// before is kept and `family` ignored.
  void declare(const metric_family& family);

  /// The declared families in printing order: by scope, then in declaration order.
  [[nodiscard]] std::vector<const metric_family*> families() const;

private:
  [[nodiscard]] bool known(const metric_family& family) const noexcept;

  std::array<std::atomic<const metric_family*>, capacity> slots_{};
  // Published with release after its slot is written; readers load it with acquire.
  std::atomic<std::size_t> count_{0};
  std::mutex declare_mtx_; // serializes declarations that add a family
};

} // namespace troupe
