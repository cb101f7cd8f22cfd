#pragma once

// Everything Troupe offers, in one include. Components can also be included one by one:
// <troupe/scheduler/...>, <troupe/core/...>, <troupe/mailbox/...>, <troupe/actors/...>,
// <troupe/supervision/...>, <troupe/coro/...>. CAF comes with it: Troupe actors are CAF actors, and
// handles such as caf::scoped_actor mix freely.

#include <caf/all.hpp>

#include "troupe/version.hpp"

#include "troupe/scheduler/blocking_future.hpp"
#include "troupe/scheduler/dead_letter_office.hpp"
#include "troupe/scheduler/errors.hpp"
#include "troupe/scheduler/file_write.hpp"
#include "troupe/scheduler/metric_registry.hpp"
#include "troupe/scheduler/named_registry.hpp"
#include "troupe/scheduler/result.hpp"
#include "troupe/scheduler/runtime.hpp"
#include "troupe/scheduler/runtime_config.hpp"
#include "troupe/scheduler/runtime_metrics.hpp"
#include "troupe/scheduler/store_load_barrier.hpp"

#include "troupe/core/actor.hpp"
#include "troupe/core/actor_reply_sink.hpp"
#include "troupe/core/continuation.hpp"
#include "troupe/core/message_source.hpp"
#include "troupe/core/reply_sink.hpp"
#include "troupe/core/spawn_actor.hpp"
#include "troupe/core/unbounded_mpsc_queue.hpp"
#include "troupe/core/version.hpp"

#include "troupe/mailbox/coroutine_host.hpp"
#include "troupe/mailbox/handlers.hpp"
#include "troupe/mailbox/mailbox.hpp"
#include "troupe/mailbox/mailbox_closed.hpp"
#include "troupe/mailbox/mailbox_errc.hpp"
#include "troupe/mailbox/mailbox_metrics.hpp"
#include "troupe/mailbox/mailbox_options.hpp"
#include "troupe/mailbox/overflow_policy.hpp"
#include "troupe/mailbox/permit.hpp"
#include "troupe/mailbox/response_promise.hpp"
#include "troupe/mailbox/send_result.hpp"
#include "troupe/mailbox/spawn_mailbox.hpp"

#include "troupe/actors/barrier.hpp"
#include "troupe/actors/combinators.hpp"
#include "troupe/actors/pending.hpp"
#include "troupe/actors/request.hpp"
#include "troupe/actors/topic.hpp"
#include "troupe/actors/watched.hpp"
#include "troupe/actors/weak_topic.hpp"

#include "troupe/supervision/cancellation_token.hpp"
#include "troupe/supervision/child_info.hpp"
#include "troupe/supervision/child_spec.hpp"
#include "troupe/supervision/pool_child.hpp"
#include "troupe/supervision/pool_metrics.hpp"
#include "troupe/supervision/pool_options.hpp"
#include "troupe/supervision/supervision_errc.hpp"
#include "troupe/supervision/supervisor.hpp"
#include "troupe/supervision/supervisor_spec.hpp"
#include "troupe/supervision/worker_pool.hpp"

#include "troupe/coro/arrive.hpp"
#include "troupe/coro/cancelled.hpp"
#include "troupe/coro/gather.hpp"
#include "troupe/coro/join_handle.hpp"
#include "troupe/coro/request.hpp"
#include "troupe/coro/send.hpp"
#include "troupe/coro/sleep.hpp"
#include "troupe/coro/spawn_blocking.hpp"
#include "troupe/coro/submit.hpp"
#include "troupe/coro/task.hpp"
#include "troupe/coro/task_actor.hpp"
#include "troupe/coro/task_scope.hpp"
#include "troupe/coro/topic_reader.hpp"
#include "troupe/coro/version.hpp"
#include "troupe/coro/watch_reader.hpp"
