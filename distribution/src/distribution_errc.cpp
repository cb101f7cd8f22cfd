#include "troupe/distribution/distribution_errc.hpp"

#include "troupe/scheduler/errors.hpp"

namespace troupe {

namespace {

const char* render_distribution_code(uint8_t code) noexcept {
  return to_string(static_cast<distribution_errc>(code));
}

const bool registered = [] {
  register_error_category(distribution_error_category, "distribution_error",
                          render_distribution_code);
  return true;
}();

} // namespace

caf::error make_error(distribution_errc code) {
  (void)registered;
  return caf::error{static_cast<uint8_t>(code), distribution_error_category};
}

const char* to_string(distribution_errc code) noexcept {
  switch (code) {
  case distribution_errc::node_down:
    return "node_down";
  case distribution_errc::connection_lost:
    return "connection_lost";
  case distribution_errc::not_serializable:
    return "not_serializable";
  case distribution_errc::type_mismatch:
    return "type_mismatch";
  case distribution_errc::not_published:
    return "not_published";
  case distribution_errc::publish_failed:
    return "publish_failed";
  case distribution_errc::authentication_failed:
    return "authentication_failed";
  case distribution_errc::network_disabled:
    return "network_disabled";
  case distribution_errc::invalid_config:
    return "invalid_config";
  }
  return "unknown_distribution_error";
}

} // namespace troupe
