#include "troupe/core/actor.hpp"

#include <algorithm>

#include <caf/sec.hpp>
#include <caf/system_messages.hpp>

#include "troupe/runtime/dead_letter_office.hpp"
#include "troupe/runtime/runtime.hpp"

namespace troupe {

caf::error actor::dead_reply_reason() const {
  return caf::make_error(caf::sec::request_receiver_down);
}

namespace {

// A reply nobody will run, reported as a dead letter of `requester` with `reason`.
void report_dead_reply(actor& requester, const reply_job& reply, caf::error reason) {
  const char* type = reply.message_type();
  if (type == nullptr)
    return; // not an answer (a barrier release): nobody missed it
  if (auto* rt = runtime::of(requester.home_system()))
    rt->dead_letters()->report(dead_letter{requester.name(), type, std::move(reason)});
}

} // namespace

void actor::report_unexpected_reply(const reply_job& reply) {
  report_dead_reply(*this, reply, caf::make_error(caf::sec::unexpected_response));
}

void actor::discard_replies() {
  std::lock_guard guard{discard_mtx_};
  auto* queue = replies_.load(std::memory_order_seq_cst); // after a fence: see replies()
  if (queue == nullptr)
    return; // nothing ever replied
  // Every reply whose claim on_exit's fence saw, also one still being written (post_reply).
  queue->drain_claimed([this](std::unique_ptr<reply_job>&& reply) {
    report_dead_reply(*this, *reply, dead_reply_reason());
  });
}

void actor::fail_request_after(uint64_t id, caf::timespan timeout, caf::error reason) {
  auto now = clock().now();
  if (timeout > detail::request_deadlines::time_point::max() - now)
    return; // beyond the clock's range: never
  if (!deadlines_)
    deadlines_ = std::make_unique<detail::request_deadlines>();
  deadlines_->add(now + std::max(timeout, caf::timespan{0}), id, std::move(reason));
  // Answered requests leave their entries until they come due: compact once they are the
  // majority, so a busy requester with long timeouts holds about as many as it has waiting.
  if (deadlines_->size() > 2 * outstanding_.size() + 32)
    deadlines_->compact([this](uint64_t x) { return outstanding_.contains(x); });
  arm_request_timer();
}

void actor::arm_request_timer() {
  while (!deadlines_->empty() && !outstanding_.contains(deadlines_->earliest().id))
    deadlines_->pop_earliest();
  if (deadlines_->empty())
    return; // a timer still armed finds nothing due and stops
  auto due = deadlines_->earliest().due;
  if (deadlines_->armed && *deadlines_->armed <= due)
    return;
  deadlines_->armed = due;
  // One ordinary timeout per type and actor: CAF replaces a later one and cancels it when the
  // actor terminates (the clock's reference to the actor goes with it).
  clock().set_ordinary_timeout(due, this, request_timeout_atom::value, 0);
}

void actor::on_request_timer() {
  if (!deadlines_)
    return;
  deadlines_->armed.reset();
  for (auto& expired : deadlines_->take_due(clock().now())) {
    if (stopping_)
      return; // nothing runs after quit()
    fail_request(expired.id, std::move(expired.reason));
  }
  if (deadlines_ && !stopping_)
    arm_request_timer();
}

caf::behavior actor::shared_behavior() {
  // CAF keeps an actor whose behavior stack is empty for finished, so every Troupe actor
  // holds this one (a behavior is a reference to a shared, immutable handler set). Its
  // handler captures no actor and never runs: consume() takes the only message it names.
  static const caf::behavior shared{
      [](request_timeout_atom, uint64_t, caf::error&) {},
  };
  return shared;
}

caf::invoke_message_result actor::consume(caf::mailbox_element& x) {
  auto& content = x.content();
  if (content.match_elements<caf::timeout_msg>() &&
      content.get_as<caf::timeout_msg>(0).type == request_timeout_atom::value) {
    on_request_timer();
    return caf::invoke_message_result::consumed;
  }
  if (initialized_ && content.match_elements<request_timeout_atom, uint64_t, caf::error>()) {
    fail_request(content.get_as<uint64_t>(1), content.get_as<caf::error>(2));
    return caf::invoke_message_result::consumed;
  }
  return detail::caf_actor_base::consume(x);
}

} // namespace troupe
