#pragma once

#include <cstdint>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include <caf/behavior.hpp>
#include <caf/message_id.hpp>

namespace troupe::detail {

/// The handlers of the CAF requests a Troupe actor made and that are not answered yet (CAF's
/// requester mixin registers them, self->request(...).then(...)), by the response's message
/// id. A troupe::actor makes the table at its first CAF request: most actors never make one.
/// Actor only.
class caf_response_table {
public:
  /// Registers the handler of the response `response_id`.
  void add(caf::message_id response_id, caf::behavior handler) {
    handlers_.insert_or_assign(response_id.integer_value(), std::move(handler));
  }

  /// Marks `response_id` as sent with a timeout whose handler is not added yet (CAF's
  /// requester gives the timeout at the send, `.then` adds the handler later, possibly after
  /// other requests). Its deadline then finds it waiting; the mark goes with the handler's
  /// add or with the deadline (a request whose handler is never added).
  void mark_unhandled(caf::message_id response_id) {
    unhandled_.insert(response_id.integer_value());
  }

  /// Takes the mark of mark_unhandled off; whether there was one.
  bool unmark(caf::message_id response_id) {
    return unhandled_.erase(response_id.integer_value()) != 0;
  }

  /// Takes the handler of `response_id` out of the table, if it is there (a response that
  /// comes after its request timed out finds none).
  std::optional<caf::behavior> take(caf::message_id response_id) {
    auto i = handlers_.find(response_id.integer_value());
    if (i == handlers_.end())
      return std::nullopt;
    auto handler = std::move(i->second);
    handlers_.erase(i);
    return handler;
  }

  /// Whether the response `response_id` is still awaited (its handler added, or marked).
  [[nodiscard]] bool awaits(caf::message_id response_id) const {
    return handlers_.contains(response_id.integer_value()) ||
           unhandled_.contains(response_id.integer_value());
  }

  /// How many responses are awaited.
  [[nodiscard]] std::size_t size() const noexcept { return handlers_.size() + unhandled_.size(); }

  /// Forgets every handler (the actor quit: no response runs any more).
  void clear() noexcept {
    handlers_.clear();
    unhandled_.clear();
  }

private:
  std::unordered_map<std::uint64_t, caf::behavior> handlers_;
  std::unordered_set<std::uint64_t> unhandled_;
};

} // namespace troupe::detail
