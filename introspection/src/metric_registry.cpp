#include "troupe/introspection/metric_registry.hpp"

#include <algorithm>

namespace troupe {

namespace {

void append_escaped(std::string& out, std::string_view value) {
  for (char c : value) {
    if (c == '\\' || c == '"')
      out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
}

} // namespace

void sample_writer::add(std::initializer_list<metric_label> labels, const nlohmann::json& value) {
  if (!value.is_number())
    return;
  out_ += name_;
  if (labels.size() != 0) {
    out_ += '{';
    bool first = true;
    for (auto& l : labels) {
      if (!first)
        out_ += ',';
      first = false;
      out_ += l.name;
      out_ += "=\"";
      append_escaped(out_, l.value);
      out_ += '"';
    }
    out_ += '}';
  }
  out_ += ' ';
  out_ += value.dump();
  out_ += '\n';
}

bool metric_registry::known(const metric_family& family) const noexcept {
  auto n = count_.load(std::memory_order_acquire);
  for (std::size_t i = 0; i < n; ++i)
    if (slots_[i].load(std::memory_order_relaxed) == &family)
      return true;
  return false;
}

void metric_registry::declare(const metric_family& family) {
  if (known(family))
    return;
  std::lock_guard guard{declare_mtx_};
  auto n = count_.load(std::memory_order_relaxed);
  for (std::size_t i = 0; i < n; ++i) {
    auto* other = slots_[i].load(std::memory_order_relaxed);
    // The same family from another copy of a component's code (a second shared object) is
    // the same family: names are unique in the exposition format.
    if (other == &family || other->name == family.name)
      return;
  }
  if (n == capacity)
    return;
  slots_[n].store(&family, std::memory_order_relaxed);
  // Release: a reader that sees the new count sees the slot written above.
  count_.store(n + 1, std::memory_order_release);
}

std::vector<const metric_family*> metric_registry::families() const {
  auto n = count_.load(std::memory_order_acquire);
  std::vector<const metric_family*> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i)
    out.push_back(slots_[i].load(std::memory_order_relaxed));
  std::stable_sort(out.begin(), out.end(), [](auto* a, auto* b) { return a->scope < b->scope; });
  return out;
}

} // namespace troupe
