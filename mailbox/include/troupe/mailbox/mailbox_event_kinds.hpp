#pragma once

// The event kinds the mailbox component emits (see troupe::event and docs/events.md).

#include <string_view>

namespace troupe::event_kinds {

/// A typed mailbox's handler threw: its actor ends with handler_threw (then actor.exited, and a
/// supervisor's child_restarted). Published on the handler's thread, so it carries the trace of
/// the message or request that made the handler throw. Level warning. Fields: "what" (the
/// exception's message), "request" (whether the message was a request, now failed with
/// handler_threw).
inline constexpr std::string_view handler_threw{"mailbox.handler_threw"};

} // namespace troupe::event_kinds
