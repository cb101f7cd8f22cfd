#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include <caf/error.hpp>

#include "troupe/introspection/event_stream.hpp"
#include "troupe/runtime/runtime_event_kinds.hpp"
#include "troupe/scheduler/errors.hpp"

namespace troupe {

/// A message that reached no handler: sent to an actor that had terminated, or left in its
/// mailbox when it terminated. Requests are never dead letters; they are answered with an error.
struct dead_letter {
  /// Name (or id) of the receiver.
  std::string receiver;
  /// The message's C++ type (mangled name, as typeid reports it).
  std::string message_type;
  /// Why it reached no handler, e.g. mailbox_errc::receiver_dead or mailbox_errc::closed.
  caf::error reason;
};

/// Counts dead letters, passes each one to an optional hook and publishes it as a dead_letter
/// event (level warning) on the runtime's event stream. Owned by the runtime and shared
/// with every mailbox, so a mailbox that outlives the runtime can still report.
///
/// Example:
///
///   rt.dead_letters()->set_hook([](const troupe::dead_letter& d) { log(d.receiver); });
///   rt.dead_letters()->count();
///
/// Thread safety: every member may be called from any thread. The hook runs on the thread that
/// found the dead letter, possibly a scheduler worker: it must be quick and must not block.
class dead_letter_office {
public:
  /// An office that publishes no events.
  dead_letter_office() = default;

  /// An office that also publishes each dead letter on `events` (kept alive by the office).
  explicit dead_letter_office(std::shared_ptr<event_stream> events) : events_(std::move(events)) {}

  /// Counts `letter` and passes it to the hook, if one is set. Called by Troupe's mailboxes
  /// and actors.
  void report(const dead_letter& letter) {
    count_.fetch_add(1, std::memory_order_relaxed);
    std::function<void(const dead_letter&)> hook;
    {
      std::lock_guard guard{mtx_};
      hook = hook_;
    }
    // Called without the office's lock: a hook that takes its own locks must not be able to
    // deadlock against set_hook().
    if (hook)
      hook(letter);
    if (events_ && events_->wants(event_level::warning)) {
      event e;
      e.level = event_level::warning;
      e.kind = event_kinds::dead_letter;
      e.name = letter.receiver;
      auto reason = render(letter.reason);
      e.text = "dead letter " + letter.message_type + ": " + reason;
      e.fields = {{"receiver", letter.receiver},
                  {"message_type", letter.message_type},
                  {"reason", std::move(reason)}};
      events_->publish(std::move(e));
    }
  }

  /// Sets the function called for every later dead letter, replacing the previous one; an
  /// empty function removes it.
  void set_hook(std::function<void(const dead_letter&)> hook) {
    std::lock_guard guard{mtx_};
    hook_ = std::move(hook);
  }

  /// Dead letters reported so far.
  [[nodiscard]] std::size_t count() const noexcept {
    return count_.load(std::memory_order_relaxed);
  }

private:
  std::atomic<std::size_t> count_{0};
  std::mutex mtx_;
  std::function<void(const dead_letter&)> hook_;
  std::shared_ptr<event_stream> events_;
};

} // namespace troupe
