#include "troupe/scheduler/errors.hpp"

#include <caf/deep_to_string.hpp>
#include <caf/exit_reason.hpp>
#include <caf/message.hpp>
#include <caf/sec.hpp>

#include <map>
#include <mutex>

namespace troupe {

caf::error make_error(config_errc code) {
  return caf::error{static_cast<uint8_t>(code), config_error_category};
}

caf::error make_error(runtime_errc code) {
  return caf::error{static_cast<uint8_t>(code), runtime_error_category};
}

caf::error make_error(named_errc code) {
  return caf::error{static_cast<uint8_t>(code), named_error_category};
}

const char* to_string(config_errc code) noexcept {
  switch (code) {
  case config_errc::unknown_option:
    return "unknown_option";
  case config_errc::malformed_value:
    return "malformed_value";
  case config_errc::out_of_range:
    return "out_of_range";
  case config_errc::conflicting_options:
    return "conflicting_options";
  }
  return "unknown_config_error";
}

const char* to_string(runtime_errc code) noexcept {
  switch (code) {
  case runtime_errc::timeout:
    return "timeout";
  case runtime_errc::job_failed:
    return "job_failed";
  case runtime_errc::blocking_queue_full:
    return "blocking_queue_full";
  case runtime_errc::shutting_down:
    return "shutting_down";
  case runtime_errc::cancelled:
    return "cancelled";
  case runtime_errc::admin_unavailable:
    return "admin_unavailable";
  case runtime_errc::io_failed:
    return "io_failed";
  }
  return "unknown_runtime_error";
}

const char* to_string(named_errc code) noexcept {
  switch (code) {
  case named_errc::name_taken:
    return "name_taken";
  case named_errc::not_found:
    return "not_found";
  case named_errc::wrong_type:
    return "wrong_type";
  }
  return "unknown_named_error";
}

namespace {

struct category_entry {
  const char* family;
  error_code_renderer renderer;
};

std::mutex categories_mtx;

std::map<caf::atom_value, category_entry>& categories() {
  static std::map<caf::atom_value, category_entry> instance;
  return instance;
}

std::string render_context(const caf::message& context) {
  if (context.empty())
    return {};
  return ": " + caf::deep_to_string(context);
}

} // namespace

std::string render(const caf::error& err) {
  if (!err)
    return "none";
  if (err.category() == config_error_category)
    return std::string{"config_error("} + to_string(static_cast<config_errc>(err.code())) +
           render_context(err.context()) + ")";
  if (err.category() == runtime_error_category)
    return std::string{"runtime_error("} + to_string(static_cast<runtime_errc>(err.code())) +
           render_context(err.context()) + ")";
  if (err.category() == named_error_category)
    return std::string{"named_error("} + to_string(static_cast<named_errc>(err.code())) +
           render_context(err.context()) + ")";
  if (err.category() == caf::atom("system"))
    return std::string{"system_error("} + caf::to_string(static_cast<caf::sec>(err.code())) +
           render_context(err.context()) + ")";
  if (err.category() == caf::atom("exit"))
    return std::string{"exit_reason("} + caf::to_string(static_cast<caf::exit_reason>(err.code())) +
           render_context(err.context()) + ")";
  {
    std::lock_guard guard{categories_mtx};
    auto& cats = categories();
    if (auto i = cats.find(err.category()); i != cats.end())
      return std::string{i->second.family} + "(" + i->second.renderer(err.code()) +
             render_context(err.context()) + ")";
  }
  return caf::to_string(err);
}

void register_error_category(caf::atom_value category, const char* family,
                             error_code_renderer renderer) {
  std::lock_guard guard{categories_mtx};
  categories()[category] = category_entry{family, renderer};
}

} // namespace troupe
