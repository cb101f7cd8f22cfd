#include "troupe/supervision/detail/supervisor_actor.hpp"

#include <algorithm>
#include <exception>
#include <string>
#include <utility>

#include <caf/atom.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>

#include "troupe/runtime/runtime.hpp"
#include "troupe/scheduler/errors.hpp"
#include "troupe/supervision/detail/restart_decision.hpp"
#include "troupe/supervision/detail/supervision_introspection.hpp"
#include "troupe/supervision/supervision_errc.hpp"
#include "troupe/supervision/supervision_event_kinds.hpp"

namespace troupe::detail {

namespace {

using stop_deadline_atom = caf::atom_constant<caf::atom("tr_sdline")>;
using restart_due_atom = caf::atom_constant<caf::atom("tr_rsdue")>;

using clock = std::chrono::steady_clock;

// "5s", "500ms": how an intensity window reads in an event's text.
std::string format_period(std::chrono::milliseconds period) {
  if (period.count() % 1000 == 0)
    return std::to_string(period.count() / 1000) + "s";
  return std::to_string(period.count()) + "ms";
}

// Publishes one event about a child of supervisor `supervisor` when someone listens at
// `level`: the common subject and fields, then what `make` adds. Used by the supervisor actor
// and by its initial start, which runs before the actor exists.
template <class Make>
void emit_child_event(runtime& rt, event_level level, std::string_view kind,
                      const std::string& supervisor, const child_record& rec, Make make) {
  auto& events = rt.events();
  if (!events.wants(level))
    return;
  event e;
  e.level = level;
  e.kind = kind;
  e.actor = rec.actor ? rec.actor.id() : 0;
  e.name = supervisor + "/" + rec.spec.id;
  e.fields = {{"supervisor", supervisor}, {"child", rec.spec.id}};
  make(e);
  events.publish(std::move(e));
}

} // namespace

caf::error start_child_record(runtime& rt, child_record& rec, caf::message* info) {
  rec.token = cancellation_token{};
  child_context ctx{rt, rec.spec.id, rec.token, rec.args};
  std::optional<started_child> result;
  // The factory's own error stays reachable (start_failure_reason), beside its text.
  auto failed = [&](std::string text, caf::error reason) {
    rec.token.cancel();
    return make_error(supervision_errc::start_failed, rec.spec.id, std::move(text),
                      std::move(reason));
  };
  try {
    result.emplace(rec.spec.start(ctx));
  } catch (const std::exception& e) {
    return failed(e.what(), caf::error{});
  } catch (...) {
    return failed("unknown exception", caf::error{});
  }
  if (result->error())
    return failed(render(result->error()), result->error());
  if (result->ignored()) {
    rec.token.cancel();
    rec.actor = nullptr;
    rec.state = child_state::terminated;
    return caf::none;
  }
  if (!result->actor())
    return failed("the factory returned no actor", caf::error{});
  if (info != nullptr)
    *info = result->info();
  rec.actor = result->actor();
  rec.state = child_state::running;
  rec.started_at = clock::now();
  ++rec.generation;
  rt.mark_owned(rec.actor);
  return caf::none;
}

// -- construction -------------------------------------------------------------------------------

supervisor_actor::supervisor_actor(caf::actor_config& cfg, runtime& rt, supervisor_spec spec,
                                   std::list<child_record> started, uint64_t next_serial)
    : caf::event_based_actor(cfg), rt_(rt), name_(std::move(spec.name)), strategy_(spec.strategy),
      window_(spec.intensity, spec.period), children_(std::move(started)),
      next_serial_(next_serial) {
  if (is_dynamic())
    template_ = std::move(spec.children.front());
  for (auto i = children_.begin(); i != children_.end(); ++i) {
    by_serial_.emplace(i->serial, i);
    if (i->actor)
      by_actor_.emplace(i->actor.id(), i->serial);
  }
  // Here rather than in make_behavior: the spawning thread runs this, before the actor can
  // run, so the tree is in the topology by the time start_supervisor returns.
  publish_all();
}

void supervisor_actor::publish_all() {
  static constexpr topology_registry::profile shape{
      .kind = "supervisor", .section = detail::supervision_section, .has_rows = true};
  rt_.registry().describe(id(), &shape);
  rt_.metric_families().declare(detail::child_restarts_family);
  for (auto& rec : children_)
    publish(rec);
}

supervisor_actor::initial_start supervisor_actor::start_initial(runtime& rt, supervisor_spec& spec,
                                                                uint64_t& next_serial) {
  initial_start result;
  auto& started = result.started;
  if (spec.strategy == restart_strategy::dynamic)
    return result;
  for (auto& child : spec.children) {
    auto& rec = started.emplace_back();
    rec.spec = child;
    rec.serial = next_serial++;
    if (auto err = start_child_record(rt, rec)) {
      emit_child_event(rt, event_level::error, event_kinds::child_start_failed, spec.name, rec,
                       [&](event& e) {
                         auto reason = render(err);
                         e.text = "start failed: " + reason;
                         e.fields["reason"] = std::move(reason);
                         e.fields["will_retry"] = false;
                       });
      started.pop_back();
      result.failure = std::move(err);
      return result;
    }
    if (rec.actor)
      emit_child_event(rt, event_level::info, event_kinds::child_started, spec.name, rec,
                       [&](event& e) {
                         e.text = "started";
                         e.fields["restart"] = to_string(rec.spec.restart);
                       });
    // OTP keeps no entry for a temporary child that declined to start.
    if (!rec.actor && rec.spec.restart == restart_type::temporary)
      started.pop_back();
  }
  return result;
}

caf::behavior supervisor_actor::make_behavior() {
  // Children are monitored, not linked: a linked child that is asked to stop drops the link
  // (CAF unlinks on an exit message), so its end would go unnoticed. on_exit() makes sure no
  // child outlives the supervisor instead. An exit message is a stop request (from the parent,
  // the runtime or a user) unless it comes from an actor linked to the supervisor: OTP's
  // supervisor ignores the exit of a process that is neither its parent nor its child.
  set_exit_handler([this](caf::exit_msg& msg) {
    bool from_linked;
    {
      std::lock_guard guard{linked_mtx_};
      // CAF has just dropped the link (it unlinks on every exit message, a normal one too); so
      // does the record, which would otherwise keep the ended actor's memory (its address).
      from_linked = linked_.erase(msg.source) > 0;
    }
    if (msg.reason && !from_linked)
      begin_shutdown(std::move(msg.reason));
  });
  set_down_handler([this](caf::down_msg& msg) { on_down(msg); });
  // Monitoring a child that already ended delivers its down message at once, so no early
  // crash goes unnoticed.
  for (auto& rec : children_)
    if (rec.actor)
      monitor(rec.actor);
  return {
      [this](stop_deadline_atom, uint64_t serial, uint64_t generation) {
        on_stop_deadline(serial, generation);
      },
      [this](restart_due_atom, uint64_t serial, uint64_t generation, bool counts) {
        on_restart_due(serial, generation, counts);
      },
      [this](supervisor_command& cmd) { on_command(cmd); },
  };
}

bool supervisor_actor::add_backlink(caf::abstract_actor* other) {
  // Runs on the linking actor's thread, inside CAF's critical section of both actors.
  if (!caf::event_based_actor::add_backlink(other))
    return false;
  std::lock_guard guard{linked_mtx_};
  linked_.insert(other->address());
  return true;
}

bool supervisor_actor::remove_backlink(caf::abstract_actor* other) {
  auto removed = caf::event_based_actor::remove_backlink(other);
  std::lock_guard guard{linked_mtx_};
  linked_.erase(other->address());
  return removed;
}

void supervisor_actor::add_link(caf::abstract_actor* other) {
  // A link the supervisor makes itself (CAF's middleman does so for a remote actor's link_to).
  caf::event_based_actor::add_link(other);
  std::lock_guard guard{linked_mtx_};
  linked_.insert(other->address());
}

void supervisor_actor::on_exit() {
  // Killed (or crashed) with children still running: they go with it, as linked processes
  // go with an OTP supervisor. Tokens fire so that work in flight elsewhere notices too.
  for (auto& rec : children_) {
    rec.token.cancel();
    if (rec.actor)
      caf::anon_send_exit(rec.actor, caf::exit_reason::kill);
  }
  children_.clear();
  by_serial_.clear();
  by_actor_.clear();
  deferred_.clear();
  batch_.reset();
  template_.reset();
  caf::event_based_actor::on_exit();
}

// -- events -------------------------------------------------------------------------------------

void supervisor_actor::on_down(caf::down_msg& msg) {
  auto known = by_actor_.find(msg.source.id());
  if (known == by_actor_.end())
    return;
  auto serial = known->second;
  by_actor_.erase(known);
  auto* rec = find_serial(serial);
  if (rec == nullptr)
    return;
  bool was_stopping = rec->state == child_state::stopping;
  rec->last_exit = msg.reason;
  book_exit(*rec);
  if (was_stopping) {
    batch_member_exited();
    return;
  }
  if (shutting_down_)
    return;
  auto generation = rec->generation;
  if (batch_) {
    deferred_.emplace_back([this, serial, generation, reason = std::move(msg.reason)]() mutable {
      decide(serial, generation, std::move(reason));
    });
    return;
  }
  decide(serial, generation, std::move(msg.reason));
}

void supervisor_actor::on_stop_deadline(uint64_t serial, uint64_t generation) {
  auto* rec = find_serial(serial);
  if (rec != nullptr && rec->state == child_state::stopping && rec->generation == generation)
    send_exit(rec->actor, caf::exit_reason::kill);
}

void supervisor_actor::on_restart_due(uint64_t serial, uint64_t generation, bool counts) {
  if (shutting_down_)
    return;
  if (batch_) {
    deferred_.emplace_back(
        [this, serial, generation, counts] { on_restart_due(serial, generation, counts); });
    return;
  }
  auto* rec = find_serial(serial);
  if (rec == nullptr || rec->state != child_state::restarting || rec->generation != generation)
    return;
  if (counts && !count_restart(*rec, make_error(supervision_errc::start_failed, rec->spec.id,
                                                std::string{"retried start failed"})))
    return;
  // OTP's try_again_restart runs the strategy again: a group strategy retries as a group.
  if (is_group()) {
    restart_group(serial, false);
    return;
  }
  (void)start_now(*rec, true);
}

void supervisor_actor::on_command(supervisor_command& cmd) {
  auto rp = make_response_promise();
  if (shutting_down_) {
    rp.deliver(make_error(supervision_errc::shutting_down));
    return;
  }
  if (batch_) {
    deferred_.emplace_back([this, run = std::move(cmd.run), rp]() mutable {
      if (shutting_down_)
        rp.deliver(make_error(supervision_errc::shutting_down));
      else
        run(*this, rp);
    });
    return;
  }
  cmd.run(*this, rp);
}

// -- decisions ----------------------------------------------------------------------------------

void supervisor_actor::decide(uint64_t serial, uint64_t generation, caf::error reason) {
  auto* rec = find_serial(serial);
  // Stale: the child was restarted or removed since (e.g. by a group restart).
  if (rec == nullptr || rec->generation != generation || rec->state != child_state::terminated)
    return;
  if (!should_restart(rec->spec.restart, reason)) {
    // OTP keeps a terminated child's spec only when it has one of its own: a temporary child,
    // or any child of a dynamic supervisor, leaves the list.
    if (rec->spec.restart == restart_type::temporary || is_dynamic())
      erase(by_serial_.at(serial));
    return;
  }
  if (rec->spec.backoff && clock::now() - rec->started_at >= rec->spec.backoff->reset_after)
    rec->consecutive_failures = 0;
  ++rec->consecutive_failures;
  if (!count_restart(*rec, reason))
    return;
  rec->restart_pending = true;
  switch (strategy_) {
  case restart_strategy::one_for_one:
  case restart_strategy::dynamic:
    restart_one(*rec);
    break;
  case restart_strategy::one_for_all:
  case restart_strategy::rest_for_one:
    restart_group(serial, true);
    break;
  }
}

bool supervisor_actor::count_restart(const child_record& rec, const caf::error& reason) {
  if (window_.record(clock::now()))
    return true;
  emit(event_level::error, event_kinds::supervisor_gave_up, rec, [&](event& e) {
    auto rendered = render(reason);
    e.text = "gave up: more than " + std::to_string(window_.intensity()) + " restarts in " +
             format_period(window_.period()) + ", the last for: " + rendered + "; escalating";
    e.fields["reason"] = std::move(rendered);
    e.fields["intensity"] = window_.intensity();
    e.fields["period_ms"] = window_.period().count();
  });
  // OTP's supervisor ends with `shutdown` when it gives up: an orderly exit, so a transient
  // parent leaves it stopped and a permanent one restarts it. The context says why.
  begin_shutdown(caf::error{
      static_cast<uint8_t>(caf::exit_reason::user_shutdown), caf::atom("exit"),
      caf::make_message(std::string{"restart_intensity_exceeded"}, rec.spec.id, render(reason))});
  return false;
}

void supervisor_actor::restart_group(uint64_t failed_serial, bool apply_backoff) {
  auto failed = by_serial_.find(failed_serial);
  if (failed == by_serial_.end())
    return;
  // OTP's restart/2 for one_for_all (all children) and rest_for_one (the failed one and those
  // after it): stop the running ones in reverse order, then start the whole group in order,
  // also the members that had stopped.
  auto first = strategy_ == restart_strategy::one_for_all ? children_.begin() : failed->second;
  std::vector<uint64_t> to_stop;
  std::vector<uint64_t> group;
  for (auto i = first; i != children_.end(); ++i) {
    i->restart_pending = true;
    group.push_back(i->serial);
    if (i->state == child_state::running)
      to_stop.push_back(i->serial);
  }
  std::reverse(to_stop.begin(), to_stop.end());
  stop_children(std::move(to_stop), false,
                [this, group = std::move(group), failed_serial, apply_backoff] {
                  start_group(group, failed_serial, apply_backoff);
                });
}

void supervisor_actor::start_group(const std::vector<uint64_t>& group, uint64_t failed_serial,
                                   bool apply_backoff) {
  if (shutting_down_)
    return;
  std::vector<record_iter> members;
  for (auto serial : group) {
    auto i = by_serial_.find(serial);
    if (i == by_serial_.end())
      continue;
    // OTP: a temporary sibling stopped for a group restart is not started again.
    if (serial != failed_serial && i->second->spec.restart == restart_type::temporary &&
        i->second->state != child_state::running) {
      erase(i->second);
      continue;
    }
    members.push_back(i->second);
  }
  auto* failed = find_serial(failed_serial);
  if (failed == nullptr)
    return;
  if (apply_backoff && failed->spec.backoff) {
    auto unit = std::uniform_real_distribution<double>{0.0, 1.0}(jitter_rng_);
    auto delay = backoff_delay(*failed->spec.backoff, failed->consecutive_failures, unit);
    if (delay.count() > 0) {
      // The whole group waits; the due message restarts it (without another delay).
      for (auto& m : members)
        set_state(*m, child_state::terminated);
      failed->state = child_state::restarting;
      ++failed->generation;
      publish(*failed);
      delayed_send(this, delay, restart_due_atom::value, failed->serial, failed->generation, false);
      return;
    }
  }
  for (auto i = members.begin(); i != members.end(); ++i) {
    auto& rec = **i;
    if (rec.state == child_state::running)
      continue;
    ++rec.restarts;
    if (start_now(rec, false)) {
      // OTP: the group restart failed; the members after this one stay stopped until a
      // retry (a group restart again, counted against the intensity) gets them all up.
      for (auto rest = std::next(i); rest != members.end(); ++rest)
        set_state(**rest, child_state::terminated);
      schedule_retry(rec);
      return;
    }
  }
}

void supervisor_actor::set_state(child_record& rec, child_state state) {
  if (rec.state == state || rec.state == child_state::running)
    return;
  rec.state = state;
  publish(rec);
}

void supervisor_actor::schedule_retry(child_record& rec) {
  rec.state = child_state::restarting;
  // A new generation voids any retry or backoff still pending for this child.
  ++rec.generation;
  publish(rec);
  send(this, restart_due_atom::value, rec.serial, rec.generation, true);
}

// -- effects ------------------------------------------------------------------------------------

void supervisor_actor::restart_one(child_record& rec) {
  ++rec.restarts;
  if (rec.spec.backoff) {
    auto unit = std::uniform_real_distribution<double>{0.0, 1.0}(jitter_rng_);
    auto delay = backoff_delay(*rec.spec.backoff, rec.consecutive_failures, unit);
    if (delay.count() > 0) {
      rec.state = child_state::restarting;
      publish(rec);
      delayed_send(this, delay, restart_due_atom::value, rec.serial, rec.generation, false);
      return;
    }
  }
  (void)start_now(rec, true);
}

caf::error supervisor_actor::start_now(child_record& rec, bool retry_on_failure,
                                       caf::message* info) {
  auto before = rec.state;
  rec.state = child_state::starting;
  publish(rec);
  auto err = start_child_record(rt_, rec, info);
  if (!err) {
    if (rec.actor) {
      by_actor_[rec.actor.id()] = rec.serial;
      monitor(rec.actor);
    }
    publish(rec);
    if (std::exchange(rec.restart_pending, false))
      emit(event_level::warning, event_kinds::child_restarted, rec, [&](event& e) {
        auto reason = rec.last_exit ? render(*rec.last_exit) : std::string{"none"};
        e.text = "restarted (" + std::to_string(window_.size()) + " of " +
                 std::to_string(window_.intensity()) + " in " + format_period(window_.period()) +
                 "): " + reason;
        e.fields["reason"] = std::move(reason);
        e.fields["restarts"] = rec.restarts;
        e.fields["restarts_in_window"] = window_.size();
        e.fields["intensity"] = window_.intensity();
        e.fields["period_ms"] = window_.period().count();
      });
    else if (rec.actor)
      emit(event_level::info, event_kinds::child_started, rec, [&](event& e) {
        e.text = "started";
        e.fields["restart"] = to_string(rec.spec.restart);
      });
    return caf::none;
  }
  bool will_retry = retry_on_failure || rec.restart_pending;
  emit(will_retry ? event_level::warning : event_level::error, event_kinds::child_start_failed, rec,
       [&](event& e) {
         auto reason = render(err);
         e.text = "start failed" + std::string{will_retry ? " (will retry): " : ": "} + reason;
         e.fields["reason"] = std::move(reason);
         e.fields["will_retry"] = will_retry;
       });
  rec.last_exit = err;
  rec.state = before;
  if (retry_on_failure) {
    // OTP's try_again_restart: a message to self, so that other events get their turn and
    // each retry counts against the intensity.
    schedule_retry(rec);
    return err;
  }
  publish(rec);
  return err;
}

void supervisor_actor::book_exit(child_record& rec) {
  rec.token.cancel();
  if (rec.actor)
    rec.previous_actor = rec.actor.id();
  rec.actor = nullptr;
  rec.state = child_state::terminated;
  publish(rec);
}

template <class Make>
void supervisor_actor::emit(event_level level, std::string_view kind, const child_record& rec,
                            Make make) {
  emit_child_event(rt_, level, kind, name_, rec, std::move(make));
}

void supervisor_actor::publish(const child_record& rec) {
  topology_registry::child_row row;
  row.id = rec.spec.id;
  row.actor = rec.actor ? rec.actor.id() : 0;
  row.state = to_string(rec.state);
  row.details = std::make_unique<detail::child_row_details>(rec.spec.restart, rec.restarts,
                                                            rec.last_exit, rec.spec.is_supervisor);
  rt_.registry().set_child(id(), rec.serial, std::move(row));
}

void supervisor_actor::stop_children(std::vector<uint64_t> serials, bool concurrent,
                                     std::function<void()> on_done) {
  batch_.emplace();
  batch_->serials = std::move(serials);
  batch_->concurrent = concurrent;
  batch_->done = std::move(on_done);
  if (!concurrent) {
    stop_next();
    return;
  }
  for (auto serial : batch_->serials) {
    auto* rec = find_serial(serial);
    if (rec != nullptr && rec->state == child_state::running) {
      send_stop(*rec);
      ++batch_->outstanding;
    } else if (rec != nullptr && rec->state == child_state::restarting) {
      rec->state = child_state::terminated;
      rec->restart_pending = false;
    }
  }
  if (batch_->outstanding == 0)
    batch_member_exited();
}

void supervisor_actor::stop_next() {
  while (batch_->next < batch_->serials.size()) {
    auto* rec = find_serial(batch_->serials[batch_->next++]);
    if (rec == nullptr)
      continue;
    if (rec->state == child_state::restarting) {
      rec->state = child_state::terminated; // its pending restart is void now
      rec->restart_pending = false;
    }
    if (rec->state != child_state::running)
      continue;
    batch_->outstanding = 1;
    send_stop(*rec);
    return;
  }
  finish_batch();
}

void supervisor_actor::finish_batch() {
  auto on_done = std::move(batch_->done);
  batch_.reset();
  if (on_done)
    on_done();
  run_deferred();
}

void supervisor_actor::send_stop(child_record& rec) {
  rec.state = child_state::stopping;
  publish(rec);
  rec.token.cancel();
  const auto& policy = rec.spec.shutdown;
  if (policy.is_brutal_kill()) {
    send_exit(rec.actor, caf::exit_reason::kill);
    return;
  }
  send_exit(rec.actor, caf::exit_reason::user_shutdown);
  if (!policy.is_infinity())
    delayed_send(this, policy.deadline(), stop_deadline_atom::value, rec.serial, rec.generation);
}

void supervisor_actor::batch_member_exited() {
  if (!batch_)
    return;
  if (batch_->outstanding > 0)
    --batch_->outstanding;
  if (batch_->outstanding > 0)
    return;
  if (!batch_->concurrent) {
    stop_next();
    return;
  }
  finish_batch();
}

void supervisor_actor::begin_shutdown(caf::error reason) {
  if (shutting_down_)
    return;
  shutting_down_ = true;
  exit_reason_ = std::move(reason);
  rt_.registry().set_state(id(), "stopping");
  auto stop_all = [this] {
    std::vector<uint64_t> serials;
    for (auto i = children_.rbegin(); i != children_.rend(); ++i)
      serials.push_back(i->serial);
    stop_children(std::move(serials), is_dynamic(), [this] { quit(exit_reason_); });
  };
  if (batch_) {
    // Let the batch in progress finish (its own completion still runs, e.g. to answer a
    // stop_child), then stop everything that is left.
    batch_->done = [previous = std::move(batch_->done), stop_all] {
      if (previous)
        previous();
      stop_all();
    };
    return;
  }
  stop_all();
}

void supervisor_actor::run_deferred() {
  while (!batch_ && !deferred_.empty()) {
    auto next = std::move(deferred_.front());
    deferred_.pop_front();
    next();
  }
}

void supervisor_actor::erase(record_iter i) {
  rt_.registry().remove_child(id(), i->serial);
  if (i->actor)
    by_actor_.erase(i->actor.id());
  by_serial_.erase(i->serial);
  children_.erase(i);
}

child_record* supervisor_actor::find_serial(uint64_t serial) {
  auto i = by_serial_.find(serial);
  return i != by_serial_.end() ? &*i->second : nullptr;
}

supervisor_actor::record_iter supervisor_actor::find_id(const std::string& id) {
  return std::find_if(children_.begin(), children_.end(),
                      [&](const child_record& rec) { return rec.spec.id == id; });
}

// -- commands -----------------------------------------------------------------------------------

std::vector<child_info> supervisor_actor::children_info() const {
  std::vector<child_info> result;
  result.reserve(children_.size());
  for (auto& rec : children_)
    result.push_back(rec.info());
  return result;
}

child_counts supervisor_actor::counts() const {
  child_counts result;
  if (is_dynamic()) {
    // OTP's simple_one_for_one: the template is the one spec; every instance is of its type.
    result.specs = 1;
    (template_->is_supervisor ? result.supervisors : result.workers) = children_.size();
  } else {
    result.specs = children_.size();
  }
  for (auto& rec : children_) {
    result.active += rec.actor ? 1 : 0;
    if (!is_dynamic())
      (rec.spec.is_supervisor ? result.supervisors : result.workers) += 1;
  }
  return result;
}

caf::expected<child_spec> supervisor_actor::childspec(const std::string& id) {
  auto i = find_id(id);
  if (i == children_.end())
    return make_error(supervision_errc::child_not_found, id);
  return i->spec;
}

namespace {

caf::error dynamic_by_id(const char* operation) {
  return make_error(supervision_errc::not_supported, std::string{operation},
                    std::string{"a dynamic supervisor's children are named by their actor"});
}

} // namespace

void supervisor_actor::add_child(child_spec spec, caf::response_promise rp,
                                 std::shared_ptr<child_started> out) {
  if (is_dynamic()) {
    rp.deliver(make_error(supervision_errc::not_supported, std::string{"add_child"},
                          std::string{"dynamic supervisors start children from their template"}));
    return;
  }
  if (auto err = spec.validate()) {
    rp.deliver(std::move(err));
    return;
  }
  if (auto i = find_id(spec.id); i != children_.end()) {
    if (i->actor)
      rp.deliver(make_error(supervision_errc::already_started, spec.id, i->actor));
    else
      rp.deliver(make_error(supervision_errc::already_present, spec.id));
    return;
  }
  auto& rec = children_.emplace_back();
  rec.spec = std::move(spec);
  rec.serial = next_serial_++;
  by_serial_.emplace(rec.serial, std::prev(children_.end()));
  if (auto err = start_now(rec, false, &out->info)) {
    erase(std::prev(children_.end()));
    rp.deliver(std::move(err));
    return;
  }
  out->actor = rec.actor;
  // OTP keeps no entry for a temporary child that declined to start.
  if (!rec.actor && rec.spec.restart == restart_type::temporary)
    erase(std::prev(children_.end()));
  rp.deliver(caf::unit);
}

void supervisor_actor::start_dynamic_child(caf::message args, caf::response_promise rp,
                                           std::shared_ptr<child_started> out) {
  if (!is_dynamic()) {
    rp.deliver(make_error(supervision_errc::not_supported, std::string{"start_child(args)"},
                          std::string{"only dynamic supervisors start children from arguments"}));
    return;
  }
  auto& rec = children_.emplace_back();
  rec.spec = *template_;
  rec.spec.id = template_->id + "#" + std::to_string(++dynamic_count_);
  rec.args = std::move(args);
  rec.serial = next_serial_++;
  by_serial_.emplace(rec.serial, std::prev(children_.end()));
  if (auto err = start_now(rec, false, &out->info)) {
    erase(std::prev(children_.end()));
    rp.deliver(std::move(err));
    return;
  }
  out->actor = rec.actor;
  if (!rec.actor) // ignored: nothing to keep for a dynamic child
    erase(std::prev(children_.end()));
  rp.deliver(caf::unit);
}

void supervisor_actor::start_child_by_id(const std::string& id, caf::response_promise rp) {
  if (is_dynamic()) {
    rp.deliver(dynamic_by_id("start_child(id)"));
    return;
  }
  auto i = find_id(id);
  if (i == children_.end()) {
    rp.deliver(make_error(supervision_errc::child_not_found, id));
    return;
  }
  if (i->state == child_state::running || i->state == child_state::stopping) {
    rp.deliver(make_error(supervision_errc::child_running, id));
    return;
  }
  // Unlike restart_child, a child waiting for its restart (backoff or retry) starts now.
  start_and_answer(*i, rp);
}

void supervisor_actor::start_and_answer(child_record& rec, caf::response_promise& rp) {
  if (auto err = start_now(rec, false)) {
    rec.state = child_state::terminated;
    publish(rec);
    rp.deliver(std::move(err));
    return;
  }
  rp.deliver(caf::unit);
}

void supervisor_actor::stop_child_by_id(const std::string& id, caf::response_promise rp) {
  if (is_dynamic()) {
    rp.deliver(dynamic_by_id("stop_child(id)"));
    return;
  }
  auto i = find_id(id);
  if (i == children_.end()) {
    rp.deliver(make_error(supervision_errc::child_not_found, id));
    return;
  }
  auto serial = i->serial;
  // A running child is stopped; one waiting for its restart is not restarted (stop_next
  // marks it terminated, which voids the pending retry).
  stop_children({serial}, false, [this, serial, rp]() mutable {
    if (auto j = by_serial_.find(serial); j != by_serial_.end()) {
      // OTP deletes a temporary child's entry once it is stopped.
      if (j->second->spec.restart == restart_type::temporary)
        erase(j->second);
      else
        publish(*j->second);
    }
    rp.deliver(caf::unit);
  });
}

caf::expected<supervisor_actor::record_iter> supervisor_actor::find_stopped(const std::string& id,
                                                                            const char* operation) {
  if (is_dynamic())
    return dynamic_by_id(operation);
  auto i = find_id(id);
  if (i == children_.end())
    return make_error(supervision_errc::child_not_found, id);
  // OTP's restart_child and delete_child act on a stopped child only.
  if (i->state == child_state::running || i->state == child_state::stopping)
    return make_error(supervision_errc::child_running, id);
  if (i->state == child_state::restarting)
    return make_error(supervision_errc::restarting, id);
  return i;
}

void supervisor_actor::remove_child_by_id(const std::string& id, caf::response_promise rp) {
  auto i = find_stopped(id, "remove_child");
  if (!i) {
    rp.deliver(std::move(i.error()));
    return;
  }
  erase(*i);
  rp.deliver(caf::unit);
}

void supervisor_actor::stop_child_by_actor(const caf::actor& who, caf::response_promise rp) {
  if (!is_dynamic()) {
    // OTP: a static supervisor names its children by id only.
    rp.deliver(make_error(supervision_errc::child_not_found, caf::to_string(who.address())));
    return;
  }
  auto known = who ? by_actor_.find(who.id()) : by_actor_.end();
  if (known == by_actor_.end()) {
    // OTP's restarting(Pid): an instance that ended and waits for its restart (a backoff or a
    // failed start being retried) is still this child; stopping it deletes the child and
    // voids the pending restart.
    auto waiting = std::find_if(children_.begin(), children_.end(), [&](const child_record& r) {
      return who && r.state == child_state::restarting && r.previous_actor == who.id();
    });
    if (waiting != children_.end()) {
      erase(waiting);
      rp.deliver(caf::unit);
      return;
    }
    // OTP: stopping an instance that is gone already (a second stop) is fine; a live actor
    // that is not a child is not found.
    auto* raw = caf::actor_cast<caf::abstract_actor*>(who);
    if (raw == nullptr || raw->getf(caf::abstract_actor::is_terminated_flag) ||
        raw->getf(caf::abstract_actor::is_cleaned_up_flag))
      rp.deliver(caf::unit);
    else
      rp.deliver(make_error(supervision_errc::child_not_found, caf::to_string(who.address())));
    return;
  }
  auto serial = known->second;
  stop_children({serial}, false, [this, serial, rp]() mutable {
    if (auto j = by_serial_.find(serial); j != by_serial_.end())
      erase(j->second);
    rp.deliver(caf::unit);
  });
}

void supervisor_actor::restart_child_by_id(const std::string& id, caf::response_promise rp) {
  auto i = find_stopped(id, "restart_child");
  if (!i) {
    rp.deliver(std::move(i.error()));
    return;
  }
  start_and_answer(**i, rp);
}

} // namespace troupe::detail
