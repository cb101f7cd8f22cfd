#pragma once

// Starting a root task on an actor from the actor's first run: a task cannot start inside
// make_behavior, before the actor is initialized, so the factory posts this job instead.

#include <memory>
#include <utility>

#include <caf/unit.hpp>

#include "troupe/coro/detail/actor_core.hpp"
#include "troupe/coro/task.hpp"

namespace troupe::detail {

/// Starts the body once the actor runs (it cannot run inside make_behavior, before the actor
/// is initialized); destroyed unstarted when the actor stops first.
class start_body final : public ::troupe::reply_job {
public:
  start_body(task<void> body, coroutine_host& host)
      : ::troupe::reply_job(0), body_(std::move(body)), host_(&host) {}
  void run() override {
    ::troupe::start_async_handler<caf::unit_t>(std::move(body_), *host_, nullptr);
  }

private:
  task<void> body_;
  coroutine_host* host_;
};

} // namespace troupe::detail
