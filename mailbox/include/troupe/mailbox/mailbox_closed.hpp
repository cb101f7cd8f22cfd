#pragma once

namespace troupe {

/// The notice a mailbox actor gets once its mailbox was closed for senders (mailbox::close) and
/// everything queued before the close was handled: Tokio's `Receiver::recv()` returning `None`.
///
/// An actor whose handler set has a handler for mailbox_closed runs it once and keeps running
/// (its timers, replies and subscriptions still arrive; it quits when it decides to). An actor
/// without one stops with a normal exit reason, as a Tokio task ends when its receive loop does:
/// its mailbox was its only input, and nothing can arrive there any more.
///
/// Example:
///
///   return troupe::handlers{
///     [&](job& j) { run(j); },
///     [self](troupe::mailbox_closed&) { flush(); self->quit(); },
///   };
struct mailbox_closed {};

} // namespace troupe
