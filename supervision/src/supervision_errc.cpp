#include "troupe/supervision/supervision_errc.hpp"

#include "troupe/scheduler/errors.hpp"
#include "troupe/supervision/child_info.hpp"
#include "troupe/supervision/child_spec.hpp"
#include "troupe/supervision/supervisor_spec.hpp"

namespace troupe {

namespace {

const char* render_supervision_code(uint8_t code) noexcept {
  return to_string(static_cast<supervision_errc>(code));
}

// Runs when the library is loaded; make_error below keeps this file in every link that can
// produce a supervision error.
const bool registered = [] {
  register_error_category(supervision_error_category, "supervision_error", render_supervision_code);
  return true;
}();

} // namespace

caf::error make_error(supervision_errc code) {
  (void)registered;
  return caf::error{static_cast<uint8_t>(code), supervision_error_category};
}

const char* to_string(supervision_errc code) noexcept {
  switch (code) {
  case supervision_errc::invalid_spec:
    return "invalid_spec";
  case supervision_errc::start_failed:
    return "start_failed";
  case supervision_errc::child_not_found:
    return "child_not_found";
  case supervision_errc::child_running:
    return "child_running";
  case supervision_errc::already_present:
    return "already_present";
  case supervision_errc::not_supported:
    return "not_supported";
  case supervision_errc::shutting_down:
    return "shutting_down";
  case supervision_errc::already_started:
    return "already_started";
  case supervision_errc::restarting:
    return "restarting";
  case supervision_errc::ignored:
    return "ignored";
  }
  return "unknown_supervision_error";
}

caf::error start_failure_reason(const caf::error& err) {
  if (err != supervision_errc::start_failed)
    return caf::none;
  auto& ctx = err.context();
  if (ctx.match_elements<std::string, std::string, caf::error>())
    return ctx.get_as<caf::error>(2);
  return caf::none;
}

caf::actor already_started_actor(const caf::error& err) {
  if (err != supervision_errc::already_started)
    return nullptr;
  auto& ctx = err.context();
  if (ctx.match_elements<std::string, caf::actor>())
    return ctx.get_as<caf::actor>(1);
  return nullptr;
}

const char* to_string(restart_type r) noexcept {
  switch (r) {
  case restart_type::permanent:
    return "permanent";
  case restart_type::transient:
    return "transient";
  case restart_type::temporary:
    return "temporary";
  }
  return "unknown";
}

const char* to_string(restart_strategy s) noexcept {
  switch (s) {
  case restart_strategy::one_for_one:
    return "one_for_one";
  case restart_strategy::one_for_all:
    return "one_for_all";
  case restart_strategy::rest_for_one:
    return "rest_for_one";
  case restart_strategy::dynamic:
    return "dynamic";
  }
  return "unknown";
}

const char* to_string(child_state s) noexcept {
  switch (s) {
  case child_state::starting:
    return "starting";
  case child_state::running:
    return "running";
  case child_state::stopping:
    return "stopping";
  case child_state::restarting:
    return "restarting";
  case child_state::terminated:
    return "terminated";
  }
  return "unknown";
}

} // namespace troupe
