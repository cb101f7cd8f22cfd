#pragma once

// The worker thread of Troupe's policy: CAF's coordinator<Policy> creates worker<Policy>, and
// this specialization is the one it gets for troupe_policy.
//
// Why not CAF's own worker<Policy>: before every resume its loop evaluates
// dynamic_cast<abstract_actor*>(job) for its logger (CAF_PUSH_AID_FROM_PTR), whether or not a
// logger runs. That is a cross cast through CAF's deep actor class hierarchy, and across shared
// libraries libstdc++ compares the type names with strcmp: a third of a request/response round
// trip. Then it records the actor id in a map behind one process-wide spinlock. The installed
// CAF logs nothing (CAF_LOG_LEVEL_QUIET), so this worker skips both; with a CAF that logs, it
// keeps CAF's bookkeeping. The rest is CAF's contract: the members coordinator<Policy> and the
// policy call, and the policy's hooks around each resume.
//
// Included by troupe_policy.hpp, so that every use of coordinator<troupe_policy> sees it.

#include <cstddef>
#include <thread>

#include <caf/abstract_actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/detail/build_config.hpp>
#include <caf/detail/set_thread_name.hpp>
#include <caf/execution_unit.hpp>
#include <caf/logger.hpp>
#include <caf/resumable.hpp>
#include <caf/scheduler/coordinator.hpp>
#include <caf/scheduler/worker.hpp>

#include "troupe/scheduler/running_job.hpp"

namespace caf::scheduler {

template <>
class worker<troupe::detail::troupe_policy> : public execution_unit {
public:
  using policy_type = troupe::detail::troupe_policy;
  using job_ptr = resumable*;
  using coordinator_ptr = coordinator<policy_type>*;
  using policy_data = policy_type::worker_data;

  worker(size_t worker_id, coordinator_ptr parent, const policy_data& init, size_t throughput)
      : execution_unit(&parent->system()), max_throughput_(throughput), id_(worker_id),
        parent_(parent), data_(init) {}

  worker(const worker&) = delete;
  worker& operator=(const worker&) = delete;

  void start() {
    thread_ = std::thread{[this] {
#if CAF_LOG_LEVEL != CAF_LOG_LEVEL_QUIET
      CAF_SET_LOGGER_SYS(&system());
#endif
      caf::detail::set_thread_name("caf.multiplexer");
      system().thread_started();
      run();
      system().thread_terminates();
    }};
  }

  /// A job from any thread.
  void external_enqueue(job_ptr job) {
    policy_.external_enqueue(this, job);
  }

  /// A job from the job this worker runs now; only on this worker's thread.
  void exec_later(job_ptr job) override {
    policy_.internal_enqueue(this, job);
  }

  coordinator_ptr parent() {
    return parent_;
  }
  [[nodiscard]] size_t id() const {
    return id_;
  }
  std::thread& get_thread() {
    return thread_;
  }
  policy_data& data() {
    return data_;
  }
  [[nodiscard]] size_t max_throughput() const {
    return max_throughput_;
  }

private:
  void run() {
    for (;;) {
      auto* job = policy_.dequeue(this);
#if CAF_LOG_LEVEL != CAF_LOG_LEVEL_QUIET
      CAF_PUSH_AID_FROM_PTR(dynamic_cast<abstract_actor*>(job));
#endif
      policy_.before_resume(this, job);
      resumable::resume_result result;
      {
        troupe::running_job_scope running{job};
        result = job->resume(this, max_throughput_);
      }
      policy_.after_resume(this, job);
      switch (result) {
      case resumable::resume_later:
        // The worker keeps its reference: the job stays in the loop.
        policy_.resume_job_later(this, job);
        break;
      case resumable::done:
        policy_.after_completion(this, job);
        intrusive_ptr_release(job);
        break;
      case resumable::awaiting_message:
        // Whoever sends it the next message schedules it again, with a new reference.
        intrusive_ptr_release(job);
        break;
      case resumable::shutdown_execution_unit:
        policy_.after_completion(this, job);
        policy_.before_shutdown(this);
        return;
      }
    }
  }

  size_t max_throughput_;
  std::thread thread_;
  size_t id_;
  coordinator_ptr parent_;
  policy_data data_;
  policy_type policy_;
};

} // namespace caf::scheduler
