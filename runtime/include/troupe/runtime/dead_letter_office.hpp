#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
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
/// event (level warning) on the runtime's event stream. Owned by the runtime (and by whoever
/// keeps a copy of rt.dead_letters()). A mailbox keeps the office's id, not a reference: a
/// dead letter found after the office is gone (the runtime destroyed, a handle kept) is
/// counted by the mailbox alone.
///
/// Example:
///
///   rt.dead_letters()->set_hook([](const troupe::dead_letter& d) { log(d.receiver); });
///   rt.dead_letters()->count();
///
/// Thread safety: every member may be called from any thread. The hook runs on the thread that
/// found the dead letter, possibly a scheduler worker: it must be quick and must not block.
class dead_letter_office : public std::enable_shared_from_this<dead_letter_office> {
public:
  /// An office that publishes no events.
  dead_letter_office() = default;

  /// An office that also publishes each dead letter on `events` (kept alive by the office).
  explicit dead_letter_office(std::shared_ptr<event_stream> events) : events_(std::move(events)) {}

  dead_letter_office(const dead_letter_office&) = delete;
  dead_letter_office& operator=(const dead_letter_office&) = delete;
  ~dead_letter_office();

  /// The office's id, for an object that reports to it and may outlive it (a mailbox): find()
  /// turns it back into the office while the office lives. Holding an id costs nothing
  /// shared, where a std::shared_ptr's count, taken at every spawn and dropped at every exit
  /// on another worker, moved a cache line between the workers for each actor. Only for an
  /// office owned by a std::shared_ptr (as the runtime's is); 0 otherwise.
  /// Thread safety: any thread.
  [[nodiscard]] std::uint64_t id();

  /// The office whose id() is `id`, or null when it is gone (or `id` is 0). Takes a
  /// process-wide lock: for the rare path that found a dead letter, not for every message.
  [[nodiscard]] static std::shared_ptr<dead_letter_office> find(std::uint64_t id);

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
  std::once_flag listed_; // listed in the process-wide table of offices, by id()
  std::uint64_t id_ = 0;  // set once, under listed_
  std::atomic<std::size_t> count_{0};
  std::mutex mtx_;
  std::function<void(const dead_letter&)> hook_;
  std::shared_ptr<event_stream> events_;
};

} // namespace troupe
