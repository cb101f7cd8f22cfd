#pragma once

#include <cstdint>
#include <string>

namespace troupe {

/// A correlation id that travels with messages and requests across actors and nodes, so that
/// a failed request's error and the events it caused can be tied together (Erlang's
/// seq_trace token, a tracing span's id). 0 is no trace.
///
/// Where it comes from and where it goes:
/// - A thread or an actor handler has a current trace (current_trace()); a trace_scope sets it.
/// - Every message and request sent to a typed mailbox, locally or to a remote node, carries
///   the sender's current trace; the receiving handler runs with it as its current trace, so
///   what it sends and requests in turn carries it too.
/// - A request's reply or failure (timeout included) runs its continuation with the trace the
///   request was made with, and so does a coroutine that awaited it.
/// - Every event published while a trace is current carries it (troupe::event::trace).
///
/// Example:
///
///   troupe::trace_scope traced{troupe::new_trace()};      // on a thread, before a request
///   auto answer = jobs.ask(job{42}, 1s);
///   if (!answer)
///     log(troupe::format_trace(troupe::current_trace()), troupe::render(answer.error()));
///
/// Cost: a message carries 8 bytes more; with no trace set, sending reads a thread-local and
/// handling writes it twice.
using trace_id = std::uint64_t;

/// The calling thread's current trace (0: none). Any thread.
[[nodiscard]] trace_id current_trace() noexcept;

/// A fresh, non-zero trace id, unique within the process and unlikely to repeat across
/// processes (a random start, then a counter). Any thread.
[[nodiscard]] trace_id new_trace() noexcept;

/// `id` as 16 lower-case hex digits ("" for 0), as events and logs write it.
[[nodiscard]] std::string format_trace(trace_id id);

/// Makes `id` the calling thread's current trace until the scope ends, then restores the
/// previous one. Scopes nest; a scope of 0 clears the trace for its duration.
///
/// Thread safety: a scope belongs to the thread that made it; destroy it on that thread.
class trace_scope {
public:
  /// Sets `id` as the current trace.
  explicit trace_scope(trace_id id) noexcept;
  /// Restores the trace that was current before.
  ~trace_scope();
  trace_scope(const trace_scope&) = delete;
  trace_scope& operator=(const trace_scope&) = delete;

private:
  trace_id previous_;
};

} // namespace troupe
