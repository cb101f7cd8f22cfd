#pragma once

#include <memory>
#include <utility>
#include <variant>

#include "troupe/core/reply_sink.hpp"
#include "troupe/introspection/trace.hpp"

namespace troupe::detail {

/// One queued message and, for a request, where its reply goes. Move-only.
template <class... Ts>
struct envelope {
  envelope() = default;
  /// The message and its reply sink, traced with the sender's current trace.
  envelope(std::variant<Ts...> m, std::unique_ptr<reply_sink_base> r)
      : msg(std::move(m)), reply(std::move(r)), trace(current_trace()) {}

  std::variant<Ts...> msg;
  std::unique_ptr<reply_sink_base> reply;
  /// The sender's trace: the handler runs with it (see troupe::trace_id).
  trace_id trace = 0;
};

} // namespace troupe::detail
