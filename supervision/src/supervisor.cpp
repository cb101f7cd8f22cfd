#include "troupe/supervision/supervisor.hpp"

#include <algorithm>
#include <memory>
#include <optional>
#include <set>
#include <utility>

#include <caf/all.hpp>

#include "troupe/runtime/runtime.hpp"
#include "troupe/scheduler/errors.hpp"
#include "troupe/scheduler/running_job.hpp"
#include "troupe/scheduler/system_thread.hpp"
#include "troupe/supervision/detail/supervisor_actor.hpp"
#include "troupe/supervision/supervision_errc.hpp"

namespace troupe {

namespace {

using command_fn = std::function<void(detail::supervisor_actor&, caf::response_promise&)>;

caf::error invalid(std::string field, std::string detail) {
  return make_error(supervision_errc::invalid_spec, std::move(field), std::move(detail));
}

// Sends a command and blocks until the supervisor answers.
caf::error call(runtime* rt, const caf::actor& sup, std::chrono::milliseconds timeout,
                command_fn fn) {
  if (rt == nullptr || !sup)
    return make_error(supervision_errc::child_not_found, std::string{"no supervisor"});
  caf::scoped_actor self{rt->system()};
  caf::error result;
  self->request(sup, timeout, detail::supervisor_command{std::move(fn)})
      .receive([] {},
               [&](caf::error& err) {
                 result = err == caf::sec::request_timeout ? make_error(runtime_errc::timeout)
                                                           : std::move(err);
               });
  return result;
}

std::optional<caf::error> wait_down(caf::scoped_actor& self, const caf::actor& sup,
                                    std::chrono::milliseconds deadline) {
  std::optional<caf::error> result;
  bool done = false;
  auto until = std::chrono::steady_clock::now() + deadline;
  while (!done) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      break;
    self->receive(
        [&](caf::down_msg& down) {
          if (down.source == sup.address()) {
            result = std::move(down.reason);
            done = true;
          }
        },
        caf::after(left) >> [&] { done = true; });
  }
  return result;
}

} // namespace

// -- spec -----------------------------------------------------------------------------------------

caf::error supervisor_spec::validate() const {
  if (period.count() <= 0)
    return invalid("period", std::to_string(period.count()) + "ms (must be positive)");
  if (intensity > 1'000'000'000)
    return invalid("intensity", std::to_string(intensity) + " (at most 1000000000)");
  if (strategy == restart_strategy::dynamic && children.size() != 1)
    return invalid("children", "a dynamic supervisor has exactly one child spec, its template (" +
                                   std::to_string(children.size()) + " given)");
  std::set<std::string> ids;
  for (auto& child : children) {
    if (auto err = child.validate())
      return err;
    if (!ids.insert(child.id).second)
      return invalid("children", "duplicate id \"" + child.id + "\"");
  }
  return caf::none;
}

caf::error child_spec::validate() const {
  if (id.empty())
    return invalid("children", "a child without an id");
  if (!start)
    return invalid("children", "child \"" + id + "\" has no start function");
  if (shutdown.deadline().count() < 0)
    return invalid("children", "child \"" + id + "\" has a negative shutdown deadline");
  if (backoff) {
    auto& b = *backoff;
    if (b.initial_delay.count() < 0 || b.max_delay < b.initial_delay || b.multiplier < 1.0 ||
        b.jitter < 0.0 || b.jitter > 1.0)
      return invalid("children", "child \"" + id +
                                     "\" has a bad backoff (need 0 <= initial <= max, "
                                     "multiplier >= 1, 0 <= jitter <= 1)");
  }
  return caf::none;
}

// -- starting -------------------------------------------------------------------------------------

troupe::result<supervisor> start_supervisor(runtime& rt, supervisor_spec spec) {
  // A copy: init may replace spec.init itself.
  if (auto init = spec.init)
    if (auto err = init(spec))
      return err;
  if (auto err = spec.validate())
    return err;
  uint64_t next_serial = 1;
  auto initial = detail::supervisor_actor::start_initial(rt, spec, next_serial);
  bool any_started = std::any_of(initial.started.begin(), initial.started.end(),
                                 [](const detail::child_record& rec) { return rec.actor; });
  if (initial.failure && !any_started)
    return std::move(initial.failure);
  auto actor = rt.spawn<detail::supervisor_actor>(rt, std::move(spec), std::move(initial.started),
                                                  next_serial);
  supervisor sup{rt, std::move(actor)};
  if (!initial.failure)
    return sup;
  // OTP's init_children: the children started so far stop, last first, each by its shutdown
  // policy (asked, then killed at its deadline), before the start fails. The supervisor's own
  // stop does exactly that, and then exits with the start error. (caf::anon_send_exit takes
  // only a caf::exit_reason: this is the message it sends, with the start error.)
  caf::anon_send(sup.actor(), caf::exit_msg{sup.actor().address(), initial.failure});
  // Not on a thread of the actor system (e.g. inside a parent supervisor): the children may
  // need this very thread to stop.
  if (!on_actor_system_thread() && running_job() == nullptr)
    (void)sup.await_exit(supervisor::default_timeout);
  return std::move(initial.failure);
}

child_spec supervisor_child(std::string id, supervisor_spec spec, restart_type restart) {
  child_spec result;
  result.id = std::move(id);
  result.start = [spec = std::move(spec)](const child_context& ctx) -> started_child {
    auto sup = start_supervisor(ctx.rt, spec);
    if (!sup && sup.error() == supervision_errc::ignored)
      return started_child::ignore();
    if (!sup)
      return std::move(sup.error());
    return sup->actor();
  };
  result.restart = restart;
  result.shutdown = shutdown_policy::infinity();
  result.is_supervisor = true;
  return result;
}

// -- handle ---------------------------------------------------------------------------------------

troupe::result<std::vector<child_info>>
supervisor::which_children(std::chrono::milliseconds timeout) const {
  auto out = std::make_shared<std::vector<child_info>>();
  if (auto err = call(rt_, actor_, timeout,
                      [out](detail::supervisor_actor& sup, caf::response_promise& rp) {
                        *out = sup.children_info();
                        rp.deliver(caf::unit);
                      }))
    return err;
  return std::move(*out);
}

troupe::result<child_counts> supervisor::count_children(std::chrono::milliseconds timeout) const {
  auto out = std::make_shared<child_counts>();
  if (auto err = call(rt_, actor_, timeout,
                      [out](detail::supervisor_actor& sup, caf::response_promise& rp) {
                        *out = sup.counts();
                        rp.deliver(caf::unit);
                      }))
    return err;
  return *out;
}

troupe::result<child_spec> supervisor::get_childspec(const std::string& id,
                                                     std::chrono::milliseconds timeout) const {
  auto out = std::make_shared<child_spec>();
  if (auto err = call(rt_, actor_, timeout,
                      [id, out](detail::supervisor_actor& sup, caf::response_promise& rp) {
                        auto spec = sup.childspec(id);
                        if (!spec) {
                          rp.deliver(std::move(spec.error()));
                          return;
                        }
                        *out = std::move(*spec);
                        rp.deliver(caf::unit);
                      }))
    return err;
  return std::move(*out);
}

troupe::result<child_started> supervisor::add_child(child_spec spec,
                                                    std::chrono::milliseconds timeout) const {
  auto out = std::make_shared<child_started>();
  if (auto err = call(rt_, actor_, timeout,
                      [spec = std::move(spec), out](detail::supervisor_actor& sup,
                                                    caf::response_promise& rp) mutable {
                        sup.add_child(std::move(spec), rp, out);
                      }))
    return err;
  return std::move(*out);
}

troupe::result<child_started> supervisor::start_child(caf::message args,
                                                      std::chrono::milliseconds timeout) const {
  auto out = std::make_shared<child_started>();
  if (auto err = call(rt_, actor_, timeout,
                      [args = std::move(args), out](detail::supervisor_actor& sup,
                                                    caf::response_promise& rp) mutable {
                        sup.start_dynamic_child(std::move(args), rp, out);
                      }))
    return err;
  return std::move(*out);
}

caf::error supervisor::start_child(const std::string& id, std::chrono::milliseconds timeout) const {
  return call(rt_, actor_, timeout, [id](detail::supervisor_actor& sup, caf::response_promise& rp) {
    sup.start_child_by_id(id, rp);
  });
}

caf::error supervisor::stop_child(const std::string& id, std::chrono::milliseconds timeout) const {
  return call(rt_, actor_, timeout, [id](detail::supervisor_actor& sup, caf::response_promise& rp) {
    sup.stop_child_by_id(id, rp);
  });
}

caf::error supervisor::stop_child(const caf::actor& child,
                                  std::chrono::milliseconds timeout) const {
  return call(rt_, actor_, timeout,
              [who = child](detail::supervisor_actor& sup, caf::response_promise& rp) {
                sup.stop_child_by_actor(who, rp);
              });
}

caf::error supervisor::restart_child(const std::string& id,
                                     std::chrono::milliseconds timeout) const {
  return call(rt_, actor_, timeout, [id](detail::supervisor_actor& sup, caf::response_promise& rp) {
    sup.restart_child_by_id(id, rp);
  });
}

caf::error supervisor::remove_child(const std::string& id,
                                    std::chrono::milliseconds timeout) const {
  return call(rt_, actor_, timeout, [id](detail::supervisor_actor& sup, caf::response_promise& rp) {
    sup.remove_child_by_id(id, rp);
  });
}

caf::error supervisor::stop(std::chrono::milliseconds deadline) const {
  if (rt_ == nullptr || !actor_)
    return caf::none;
  caf::scoped_actor self{rt_->system()};
  self->monitor(actor_);
  // Anonymous, as the runtime's stop requests: the request names no actor of its own, so it
  // stands as it is whether or not this wait times out.
  caf::anon_send_exit(actor_, caf::exit_reason::user_shutdown);
  if (!wait_down(self, actor_, deadline))
    return make_error(runtime_errc::timeout);
  return caf::none;
}

std::optional<caf::error> supervisor::await_exit(std::chrono::milliseconds deadline) const {
  if (rt_ == nullptr || !actor_)
    return std::nullopt;
  caf::scoped_actor self{rt_->system()};
  self->monitor(actor_);
  return wait_down(self, actor_, deadline);
}

} // namespace troupe
