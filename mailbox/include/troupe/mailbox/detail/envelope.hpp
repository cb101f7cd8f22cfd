#pragma once

#include <functional>
#include <memory>
#include <utility>
#include <variant>

#include "troupe/core/reply_sink.hpp"
#include "troupe/introspection/trace.hpp"

namespace troupe::detail {

// What an envelope holds the message in: a variant of the mailbox's types, or, for a mailbox
// of one type, the message itself. A variant of one type adds its index, padded to the
// message's alignment (8 bytes beside a 64-bit message), to every queued message: a mailbox
// holding millions of messages pays that in memory the kernel first has to zero.
template <class... Ts>
struct envelope_message {
  using type = std::variant<Ts...>;
};
template <class T>
struct envelope_message<T> {
  using type = T;
};

/// One queued message and, for a request, where its reply goes. Move-only.
template <class... Ts>
struct envelope {
  using message_type = typename envelope_message<Ts...>::type;

  envelope() = default;
  /// The message and its reply sink, traced with the sender's current trace.
  envelope(message_type m, std::unique_ptr<reply_sink_base> r)
      : msg(std::move(m)), reply(std::move(r)), trace(current_trace()) {}

  /// Calls `f` with the message (the alternative it holds, for several types).
  template <class F>
  decltype(auto) visit(F&& f) {
    if constexpr (sizeof...(Ts) == 1)
      return std::invoke(std::forward<F>(f), msg);
    else
      return std::visit(std::forward<F>(f), msg);
  }

  /// Moves the message out as a `T` (the type it was sent as).
  template <class T>
  T take() {
    if constexpr (sizeof...(Ts) == 1)
      return std::move(msg);
    else
      return std::get<T>(std::move(msg));
  }

  message_type msg;
  std::unique_ptr<reply_sink_base> reply;
  /// The sender's trace: the handler runs with it (see troupe::trace_id).
  trace_id trace = 0;
};

} // namespace troupe::detail
