#pragma once

#include <cstdint>

#include <caf/atom.hpp>
#include <caf/error.hpp>

namespace troupe {

/// Why a message or a request through a typed mailbox did not get its answer.
enum class mailbox_errc : uint8_t {
  /// The bounded mailbox is full and its policy is `fail`; the message was handed back.
  mailbox_full = 1,
  /// The receiving actor has terminated (or terminates before handling the message).
  receiver_dead,
  /// A thread waited for room under backpressure past its deadline; the message was handed back.
  send_timeout,
  /// The receiver's handler threw; the context carries the exception message.
  handler_threw,
  /// No reply arrived within the request's timeout.
  request_timeout,
  /// The requester gave the request up before its reply: a fail-fast group failed first, a
  /// coroutine's timer was destroyed while armed, first_of got no requests. Not to be confused
  /// with runtime_errc::cancelled (the work itself was dropped by the pool or runtime that held
  /// it).
  abandoned,
  /// The mailbox was closed for senders (mailbox::close): the message was handed back, or, for
  /// a message parked under backpressure when the close came, the request fails with it (a
  /// parked plain message becomes a dead letter with this reason). Final, unlike mailbox_full.
  closed,
  /// response_promise::deliver on a promise that has already answered (by any of its copies):
  /// nothing was sent, the first answer stands.
  already_answered,
  /// The requester's answer: every copy of the handler's response_promise was destroyed
  /// without an answer (Tokio's oneshot sender dropped), also when the answering actor
  /// terminated while holding it.
  broken_promise,
  /// response_promise::deliver on a promise that stands for no request: default-constructed or
  /// moved from.
  empty_promise,
};

inline constexpr caf::atom_value mailbox_error_category = caf::atom("tr_mailbox");

[[nodiscard]] caf::error make_error(mailbox_errc code);
[[nodiscard]] const char* to_string(mailbox_errc code) noexcept;

} // namespace troupe
