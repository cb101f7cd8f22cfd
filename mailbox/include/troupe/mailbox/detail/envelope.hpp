#pragma once

#include <memory>
#include <variant>

#include "troupe/core/reply_sink.hpp"

namespace troupe::detail {

/// One queued message and, for a request, where its reply goes. Move-only.
template <class... Ts>
struct envelope {
  std::variant<Ts...> msg;
  std::unique_ptr<reply_sink_base> reply;
};

} // namespace troupe::detail
