#pragma once

#include <optional>
#include <utility>

#include <caf/error.hpp>

namespace troupe {

/// The outcome of a send to a typed mailbox.
///
/// Example:
///
///   auto r = mb.try_send(job{42});
///   if (!r && r.error() == troupe::mailbox_errc::mailbox_full)
///     retry_later(std::move(*r.message()));   // the message comes back, never lost
template <class T>
class send_result {
public:
  /// What happened to the message.
  enum class status {
    /// In the mailbox.
    accepted,
    /// Accepted for later: an actor's send under backpressure, enqueued when room frees.
    parked,
    /// Discarded by the mailbox's drop_newest policy (counted in its metrics).
    dropped,
    /// Not accepted: error() says why, message() holds the message again.
    failed,
  };

  /// The message is in the mailbox.
  static send_result accepted() { return send_result{status::accepted}; }
  /// The message waits for room (actor sends under backpressure).
  static send_result parked() { return send_result{status::parked}; }
  /// The mailbox's policy discarded the message.
  static send_result dropped() { return send_result{status::dropped}; }
  /// The send was refused with `err`; `msg` goes back to the sender through message().
  static send_result failed(caf::error err, T msg) {
    send_result r{status::failed};
    r.error_ = std::move(err);
    r.message_.emplace(std::move(msg));
    return r;
  }

  /// True unless the message was refused. A dropped message counts as delivered to the
  /// mailbox's policy, which the user chose.
  explicit operator bool() const noexcept { return status_ != status::failed; }
  /// The outcome as a status.
  [[nodiscard]] status state() const noexcept { return status_; }
  /// The message was parked: it enters the mailbox when room frees.
  [[nodiscard]] bool was_parked() const noexcept { return status_ == status::parked; }
  /// The message was discarded by the overflow policy.
  [[nodiscard]] bool was_dropped() const noexcept { return status_ == status::dropped; }
  /// Why the send failed (a mailbox_errc); empty unless the status is failed.
  [[nodiscard]] const caf::error& error() const noexcept { return error_; }
  /// The refused message, handed back; empty unless the send failed.
  [[nodiscard]] std::optional<T>& message() noexcept { return message_; }

private:
  explicit send_result(status s) : status_(s) {}
  status status_;
  caf::error error_;
  std::optional<T> message_;
};

} // namespace troupe
