#include "troupe/core/actor.hpp"

#include <algorithm>

#include <caf/detail/sync_request_bouncer.hpp>
#include <caf/exit_reason.hpp>
#include <caf/message.hpp>
#include <caf/response_promise.hpp>
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

// A caf::duration (in its own units) as a timespan, as CAF adds it to the clock's time.
caf::timespan to_timespan(const caf::duration& d) {
  caf::actor_clock::time_point zero{};
  auto after = zero;
  after += d;
  return after - zero;
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
  add_deadline(id, timeout, std::move(reason), false);
}

void actor::add_deadline(uint64_t id, caf::timespan timeout, caf::error reason, bool caf_request) {
  auto now = clock().now();
  if (timeout > detail::request_deadlines::time_point::max() - now)
    return; // beyond the clock's range: never
  auto& deadlines = outstanding_.deadlines();
  deadlines.add(now + std::max(timeout, caf::timespan{0}), id, std::move(reason), caf_request);
  // Answered requests leave their entries until they come due: compact once they are the
  // majority, so a busy requester with long timeouts holds about as many as it has waiting.
  const auto waiting = outstanding_.size() + (caf_responses_ ? caf_responses_->size() : 0);
  if (deadlines.size() > 2 * waiting + 32)
    deadlines.compact([this](const detail::request_deadlines::entry& e) { return awaits(e); });
  arm_request_timer();
}

bool actor::awaits(const detail::request_deadlines::entry& deadline) const {
  if (!deadline.caf_request)
    return outstanding_.contains(deadline.id);
  return caf_responses_ != nullptr && caf_responses_->awaits(caf::message_id{deadline.id});
}

void actor::fail_caf_request(caf::message_id response_id) {
  if (!caf_responses_)
    return;
  auto handler = caf_responses_->take(response_id);
  if (!handler) {
    caf_responses_->unmark(response_id); // sent without a handler: nothing to run
    return;
  }
  auto timeout = caf::make_message(caf::make_error(caf::sec::request_timeout));
  (*handler)(timeout);
}

void actor::arm_request_timer() {
  auto* deadlines = outstanding_.deadlines_if_made();
  if (deadlines == nullptr)
    return;
  while (!deadlines->empty() && !awaits(deadlines->earliest()))
    deadlines->pop_earliest();
  if (deadlines->empty())
    return; // a timer still armed finds nothing due and stops
  auto due = deadlines->earliest().due;
  if (deadlines->armed && *deadlines->armed <= due)
    return;
  deadlines->armed = due;
  // One ordinary timeout per type and actor: CAF replaces a later one and cancels it when the
  // actor terminates (the clock's reference to the actor goes with it).
  clock().set_ordinary_timeout(due, this, request_timeout_atom::value, 0);
}

void actor::on_request_timer() {
  auto* deadlines = outstanding_.deadlines_if_made();
  if (deadlines == nullptr)
    return;
  deadlines->armed.reset();
  for (auto& expired : deadlines->take_due(clock().now())) {
    if (stopping_)
      return; // nothing runs after quit()
    if (expired.caf_request)
      fail_caf_request(caf::message_id{expired.id});
    else
      fail_request(expired.id, std::move(expired.reason));
  }
  if (!stopping_)
    arm_request_timer();
}

void actor::enqueue(caf::mailbox_element_ptr what, caf::execution_unit* host) {
  const auto mid = what->mid;
  caf::strong_actor_ptr from = what->sender;
  switch (inbox_.push_front(what.release())) {
  case caf::intrusive::inbox_result::unblocked_reader:
    schedule(host); // the actor was idle
    break;
  case caf::intrusive::inbox_result::queue_closed:
    // The actor terminated (the inbox deleted the element): a request still gets an answer.
    if (mid.is_request())
      caf::detail::sync_request_bouncer{caf::error{}}(from, mid);
    break;
  case caf::intrusive::inbox_result::success:
    break; // the actor runs or is scheduled already
  }
}

void actor::launch(caf::execution_unit* host, bool lazy, bool hide) {
  if (!hide)
    register_at_system();
  if (lazy && inbox_.try_block())
    return; // the first message schedules it
  schedule(host);
}

void actor::add_multiplexed_response_handler(caf::message_id response_id, caf::behavior handler) {
  if (stopping_)
    return; // nothing runs after quit(), a response handler neither
  auto& table = caf_responses();
  table.unmark(response_id);
  // A behavior's own timeout counts too, as in CAF (the earlier deadline wins).
  auto own_timeout = handler.timeout();
  table.add(response_id, std::move(handler));
  if (own_timeout.valid())
    add_deadline(response_id.integer_value(), to_timespan(own_timeout),
                 caf::make_error(caf::sec::request_timeout), true);
}

void actor::request_response_timeout(const caf::duration& timeout, caf::message_id mid) {
  if (stopping_ || !timeout.valid())
    return;
  // From the send, as CAF's: the handler is added by `.then`, perhaps after other requests.
  caf_responses().mark_unhandled(mid.response_id());
  add_deadline(mid.response_id().integer_value(), to_timespan(timeout),
               caf::make_error(caf::sec::request_timeout), true);
}

detail::caf_response_table& actor::caf_responses() {
  if (!caf_responses_)
    caf_responses_ = std::make_unique<detail::caf_response_table>();
  return *caf_responses_;
}

void actor::start() {
  try {
    initialize();
  } catch (...) {
    // As CAF's default exception handler answers: the actor ends with runtime_error.
    quit(caf::make_error(caf::sec::runtime_error));
  }
}

void actor::finalize() {
  if (getf(is_cleaned_up_flag))
    return;
  on_exit();
  cleanup(std::move(fail_state_), context());
}

void actor::handle_caf_messages(caf::mailbox_element* newest) {
  // The inbox is a stack (newest first): turn what it held into the order of arrival.
  caf::mailbox_element* oldest = nullptr;
  for (caf::mailbox_element* node = newest; node != nullptr;) {
    auto* next = node->next;
    node->next = oldest;
    oldest = node;
    node = static_cast<caf::mailbox_element*>(next);
  }
  while (oldest != nullptr) {
    caf::mailbox_element_ptr x{oldest};
    oldest = static_cast<caf::mailbox_element*>(x->next);
    x->next = nullptr;
    if (stopping_) {
      // What an event-based actor does after quit(): a request is answered, the rest dropped.
      if (x->mid.is_request())
        caf::detail::sync_request_bouncer{caf::error{}}(*x);
      continue;
    }
    handle_caf_message(*x);
  }
}

namespace {

// A CAF message that no handler of a Troupe actor takes, reported as a dead letter of `self`.
void report_unexpected_message(actor& self, const char* type) {
  if (auto* rt = runtime::of(self.home_system()))
    rt->dead_letters()->report(
        dead_letter{self.name(), type, caf::make_error(caf::sec::unexpected_message)});
}

} // namespace

void actor::handle_caf_message(caf::mailbox_element& x) {
  current_mailbox_element(&x);
  try {
    auto& content = x.content();
    if (x.mid.is_response()) {
      handle_caf_response(x);
    } else if (content.match_elements<caf::timeout_msg>()) {
      if (content.get_as<caf::timeout_msg>(0).type == request_timeout_atom::value)
        on_request_timer();
    } else if (content.match_elements<request_timeout_atom, uint64_t, caf::error>()) {
      if (initialized_)
        fail_request(content.get_as<uint64_t>(1), content.get_as<caf::error>(2));
    } else if (content.match_elements<caf::exit_msg>()) {
      // As an event-based actor's default exit handler: a linked actor that ended normally
      // changes nothing, any other reason (kill too) ends this actor with it.
      auto em = content.get_as<caf::exit_msg>(0);
      unlink_from(em.source);
      if (em.reason)
        quit(std::move(em.reason));
    } else if (content.match_elements<caf::down_msg>()) {
      // A monitor nobody can handle: a Troupe actor has no down handler.
      report_unexpected_message(*this, "caf::down_msg");
    } else if (content.match_elements<caf::error>()) {
      // As an event-based actor's default error handler.
      quit(content.get_as<caf::error>(0));
    } else {
      // A plain CAF message: the actor's messages come through its typed queue.
      if (x.mid.is_request())
        make_response_promise().deliver(caf::make_error(caf::sec::unexpected_message));
      report_unexpected_message(*this, "caf::message");
    }
  } catch (...) {
    auto err = caf::make_error(caf::sec::runtime_error);
    if (x.mid.is_request())
      make_response_promise().deliver(err);
    quit(std::move(err));
  }
  current_mailbox_element(nullptr);
}

void actor::handle_caf_response(caf::mailbox_element& x) {
  if (!caf_responses_)
    return;
  auto handler = caf_responses_->take(x.mid);
  if (!handler)
    return; // its request timed out: CAF drops a late response too
  if (!(*handler)(x.content())) {
    // The answer matched none of the handlers: they get it as an error, as CAF does.
    auto msg = caf::make_message(
        caf::make_error(caf::sec::unexpected_response, x.move_content_to_message()));
    (*handler)(msg);
  }
}

void actor::close_inbox() noexcept {
  if (inbox_.closed())
    return;
  caf::detail::sync_request_bouncer bounce{caf::error{}};
  auto answer = [&](caf::mailbox_element* x) {
    caf::mailbox_element_ptr owned{x};
    bounce(*owned);
  };
  inbox_.close(answer);
}

} // namespace troupe
