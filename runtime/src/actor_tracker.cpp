#include "troupe/runtime/detail/actor_tracker.hpp"

#include <caf/abstract_actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/attachable.hpp>
#include <caf/exit_reason.hpp>

#include "troupe/introspection/actor_name.hpp"
#include "troupe/runtime/runtime_event_kinds.hpp"
#include "troupe/scheduler/errors.hpp"
#include "troupe/scheduler/recycled_blocks.hpp"

namespace troupe::detail {

namespace {

bool normal_exit(const caf::error& reason) {
  return !reason || reason == caf::exit_reason::normal || reason == caf::exit_reason::user_shutdown;
}

} // namespace

// What removes a tracked actor when it terminates. Made on the worker that spawns the actor and
// freed on whichever ends it, so its block is recycled (recycled_blocks.hpp) rather than taken
// from and given back to malloc for every actor.
class actor_tracker::exit_watch final : public caf::attachable, public recycled_blocks<exit_watch> {
public:
  exit_watch(actor_tracker& tracker, caf::abstract_actor* actor) noexcept
      : tracker_(tracker), actor_(actor) {}

  // Runs during the actor's cleanup, while it is still alive, or at once when attached to an
  // actor that is gone already (so one that dies between spawn and tracking is not leaked). The
  // tracker outlives every tracked actor: the runtime destroys the actor system before it.
  void actor_exited(const caf::error& reason, caf::execution_unit* /*host*/) override {
    tracker_.actor_exited(*actor_, reason);
  }

private:
  actor_tracker& tracker_;
  caf::abstract_actor* actor_;
};

void actor_tracker::track(const caf::strong_actor_ptr& actor,
                          const topology_registry::profile* shape, exit_told_by told_by) {
  if (!actor)
    return;
  auto* raw = caf::actor_cast<caf::abstract_actor*>(actor);
  auto id = raw->id();
  if (events_.wants(event_level::debug)) {
    event e;
    e.level = event_level::debug;
    e.kind = event_kinds::actor_spawned;
    e.actor = id;
    e.name = actor_name(*raw);
    e.text = "spawned";
    e.fields = {{"kind", topology_registry::profile::shown_kind(shape)}};
    events_.publish(std::move(e));
  }
  registry_.add_actor(id, raw->address(), shape);
  if (told_by == exit_told_by::attachable)
    raw->attach(caf::attachable_ptr{new exit_watch(*this, raw)});
}

void actor_tracker::actor_exited(caf::abstract_actor& actor, const caf::error& reason) {
  publish_exit(&actor, reason);
  remove(actor.id());
}

void actor_tracker::publish_exit(caf::abstract_actor* actor, const caf::error& reason) {
  bool normal = normal_exit(reason);
  auto level = normal ? event_level::info : event_level::warning;
  // The one load an unobserved exit costs.
  if (!events_.wants(level))
    return;
  event e;
  e.level = level;
  e.kind = event_kinds::actor_exited;
  e.actor = actor->id();
  e.name = actor_name(*actor);
  auto rendered = render(reason);
  e.text = normal ? "exited: " + rendered : "exited abnormally: " + rendered;
  e.fields = {{"reason", std::move(rendered)}, {"normal", normal}};
  events_.publish(std::move(e));
}

void actor_tracker::adopt(const caf::strong_actor_ptr& actor) {
  if (!actor)
    return;
  auto id = actor->id();
  if (!registry_.contains(id))
    track(actor);
  set_owned(id);
}

void actor_tracker::remove(caf::actor_id id) {
  if (!registry_.remove_actor(id))
    return;
  // Sequentially consistent, as the count's change and the waiter's: either this exit sees
  // the waiter, or the waiter's check of the count (after its increment) sees this exit. Of
  // the last exits, the last to change the count sees the others' changes. The sum here is a
  // hint (it may add up to 0 while an actor lives): the waiter checks with the shards locked.
  if (waiting_.load(std::memory_order_seq_cst) != 0 && registry_.registered_count() == 0) {
    // Taking the lock orders this notify after a waiter's check of the count.
    std::lock_guard guard{empty_mtx_};
    emptied_.notify_all();
  }
}

void actor_tracker::set_owned(caf::actor_id id) {
  registry_.set_owned(id);
}

std::vector<actor_tracker::entry> actor_tracker::live() const {
  std::vector<entry> result;
  result.reserve(registry_.registered_count());
  for (auto& a : registry_.registered())
    result.push_back(entry{a.id, {}, std::move(a.addr), a.owned});
  // Names are read outside the locks: an actor that ended meanwhile reports no name.
  for (auto& e : result)
    if (auto strong = caf::actor_cast<caf::strong_actor_ptr>(e.address))
      e.name = actor_name(*caf::actor_cast<caf::abstract_actor*>(strong));
  return result;
}

bool actor_tracker::await_empty(std::chrono::steady_clock::time_point deadline) {
  struct counted_while_waiting {
    std::atomic<int>& waiting;
    explicit counted_while_waiting(std::atomic<int>& n) : waiting(n) {
      waiting.fetch_add(1, std::memory_order_seq_cst);
    }
    ~counted_while_waiting() { waiting.fetch_sub(1, std::memory_order_relaxed); }
  } counted{waiting_};
  std::unique_lock guard{empty_mtx_};
  return emptied_.wait_until(guard, deadline, [&] { return registry_.none_registered(); });
}

} // namespace troupe::detail
