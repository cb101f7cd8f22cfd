#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "troupe/actors/pending.hpp"
#include "troupe/scheduler/result.hpp"
#include "troupe/supervision/child_spec.hpp"
#include "troupe/supervision/pool_options.hpp"
#include "troupe/supervision/supervision_errc.hpp"
#include "troupe/supervision/worker_pool.hpp"

namespace troupe {

namespace detail {

/// Where a pool child keeps its latest pool; shared by its start function and its handles.
template <class Job>
struct pool_slot {
  std::string id;
  std::mutex mtx;
  std::optional<worker_pool<Job>> pool;
};

} // namespace detail

/// A handle to the worker pool that a pool_child runs now. Every start of the child (the
/// first, and each restart by its supervisor) makes a new pool; the handle follows: the next
/// call after a restart reaches the new pool. Jobs accepted by a pool that stopped are
/// answered by it (runtime_errc::cancelled for those it did not run), never moved over.
///
/// Thread safety: every member may be called from any thread (submit(self, ...) only from
/// inside `self`'s handlers); copies share the handle.
template <class Job>
class supervised_pool {
public:
  /// What a job's handler answers (reply_t<Job>).
  using reply_type = reply_t<Job>;

  /// The pool of the child's latest start. Errors: supervision_errc::child_not_found (the
  /// child has not started yet).
  [[nodiscard]] troupe::result<worker_pool<Job>> current() const {
    std::lock_guard guard{slot_->mtx};
    if (!slot_->pool)
      return make_error(supervision_errc::child_not_found, slot_->id,
                        std::string{"the pool child has not started"});
    return *slot_->pool;
  }

  /// worker_pool::submit on the current pool, from a thread: one deadline for the room and
  /// the answer. Errors: as worker_pool::submit, and current()'s.
  [[nodiscard]] troupe::result<reply_type>
  submit(Job job, std::chrono::milliseconds timeout = std::chrono::seconds{30},
         uint64_t key = 0) const {
    auto pool = current();
    if (!pool)
      return std::move(pool.error());
    return pool->submit(std::move(job), timeout, key);
  }

  /// worker_pool::submit(self, ...) on the current pool, from inside a Troupe actor.
  template <class Self>
  [[nodiscard]] pending<reply_type> submit(Self* self, Job job, uint64_t key = 0) const {
    auto pool = current();
    if (!pool)
      return failed<reply_type>(std::move(pool.error()));
    return pool->submit(self, std::move(job), key);
  }

  /// An empty handle: current() fails until it is assigned one from pool_child.
  supervised_pool() = default;

  /// Internal: pool_child makes it.
  explicit supervised_pool(std::shared_ptr<detail::pool_slot<Job>> slot) : slot_(std::move(slot)) {}

private:
  std::shared_ptr<detail::pool_slot<Job>> slot_ = std::make_shared<detail::pool_slot<Job>>();
};

/// What pool_child returns: the child spec for a supervisor's children and the handle that
/// reaches the pool the child runs now. Converts to its child_spec, so it can stand in a
/// children list as it is.
template <class Job>
struct pool_child_spec {
  child_spec spec;           ///< The child for the supervisor's children list.
  supervised_pool<Job> pool; ///< Reaches the pool of the child's latest start.

  /// The child spec, so that a pool_child_spec can stand in a children list.
  operator child_spec() const { return spec; } // NOLINT: implicit on purpose
};

/// A child spec that runs a worker pool (spawn_pool) as one child of a supervisor: the child's
/// actor is the pool's own supervisor, and a restart of the child makes a new pool from the
/// same options and handler factory. The pool is named after the child's `id` unless
/// `opts.name` is set. The child is a supervisor (shutdown infinity: its workers finish their
/// jobs first), permanent unless given.
///
/// Example:
///
///   auto workers = troupe::pool_child<checksum>("workers", opts, [](std::size_t) {
///     return [](checksum& job) { return crc32_of(job.path); };
///   });
///   troupe::supervisor_spec spec;
///   spec.children = {workers, intake};   // intake can hold workers.pool
///   auto root = troupe::start_supervisor(rt, spec);
///   troupe::result<uint32_t> sum = workers.pool.submit(checksum{"a.bin"});
///
/// Errors: the child's start fails (start_failed, when its supervisor starts it) with
/// spawn_pool's errors, e.g. config_errc naming the bad option.
/// Thread safety: any thread.
template <class Job, class F>
[[nodiscard]] pool_child_spec<Job> pool_child(std::string id, pool_options opts, F make_handler,
                                              restart_type restart = restart_type::permanent) {
  if (opts.name.empty())
    opts.name = id;
  auto slot = std::make_shared<detail::pool_slot<Job>>();
  slot->id = id;
  pool_child_spec<Job> out;
  out.pool = supervised_pool<Job>{slot};
  out.spec.id = std::move(id);
  out.spec.restart = restart;
  out.spec.shutdown = shutdown_policy::infinity();
  out.spec.is_supervisor = true;
  out.spec.start = [slot, opts = std::move(opts), make_handler = std::move(make_handler)](
                       const child_context& ctx) -> started_child {
    auto pool = spawn_pool<Job>(ctx.rt, opts, make_handler);
    if (!pool)
      return std::move(pool.error());
    auto actor = pool->supervisor().actor();
    std::lock_guard guard{slot->mtx};
    // The replaced pool's supervisor has exited already (that is why the child restarts):
    // dropping its handle only takes it out of the topology.
    slot->pool = std::move(*pool);
    return actor;
  };
  return out;
}

} // namespace troupe
