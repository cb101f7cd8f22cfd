#include "troupe/actors/topic_types.hpp"

#include "troupe/scheduler/errors.hpp"

namespace troupe {

namespace {

const char* render_topic_code(uint8_t code) noexcept {
  return to_string(static_cast<topic_errc>(code));
}

const bool registered = [] {
  register_error_category(topic_error_category, "topic_error", render_topic_code);
  return true;
}();

} // namespace

caf::error make_error(topic_errc code) {
  (void)registered;
  return caf::error{static_cast<uint8_t>(code), topic_error_category};
}

const char* to_string(topic_errc code) noexcept {
  switch (code) {
  case topic_errc::no_such_topic:
    return "no_such_topic";
  case topic_errc::type_mismatch:
    return "type_mismatch";
  case topic_errc::name_taken:
    return "name_taken";
  case topic_errc::already_subscribed:
    return "already_subscribed";
  case topic_errc::subscriber_lagged:
    return "subscriber_lagged";
  case topic_errc::closed:
    return "closed";
  case topic_errc::unsubscribed:
    return "unsubscribed";
  }
  return "unknown_topic_error";
}

void to_json(nlohmann::json& out, const topic_metrics& m) {
  auto subs = nlohmann::json::array();
  for (auto& s : m.per_subscriber)
    subs.push_back(
        {{"actor", s.actor}, {"received", s.received}, {"missed", s.missed}, {"behind", s.behind}});
  out = nlohmann::json{{"name", m.name},
                       {"capacity", m.capacity},
                       {"subscribers", m.subscribers},
                       {"published", m.published},
                       {"published_without_subscribers", m.published_without_subscribers},
                       {"delivered", m.delivered},
                       {"disconnected", m.disconnected},
                       {"closed", m.closed},
                       {"per_subscriber", subs}};
}

} // namespace troupe
