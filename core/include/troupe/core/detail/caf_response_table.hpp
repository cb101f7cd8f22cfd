#pragma once

#include <cstdint>
#include <optional>
#include <unordered_map>
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

  /// Forgets every handler (the actor quit: no response runs any more).
  void clear() noexcept { handlers_.clear(); }

private:
  std::unordered_map<std::uint64_t, caf::behavior> handlers_;
};

} // namespace troupe::detail
