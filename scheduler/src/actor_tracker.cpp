#include "troupe/scheduler/detail/actor_tracker.hpp"

#include <caf/abstract_actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/local_actor.hpp>

namespace troupe::detail {

void actor_tracker::track(const caf::strong_actor_ptr& actor, std::string_view kind) {
  if (!actor)
    return;
  auto* raw = caf::actor_cast<caf::abstract_actor*>(actor);
  entry e;
  e.id = raw->id();
  e.address = raw->address();
  if (auto* local = dynamic_cast<caf::local_actor*>(raw))
    e.name = local->name();
  registry_.add_actor(e.id, e.name, e.address, kind);
  {
    std::lock_guard guard{mtx_};
    live_.emplace(e.id, std::move(e));
  }
  // attach_functor runs the functor at once when the actor is already gone, so an actor that
  // dies between spawn and here is removed again rather than leaked in the table. The tracker
  // outlives every tracked actor: the runtime destroys the actor system before it.
  raw->attach_functor([this, id = raw->id()] { remove(id); });
}

void actor_tracker::adopt(const caf::strong_actor_ptr& actor) {
  if (!actor)
    return;
  auto id = actor->id();
  bool known = false;
  {
    std::lock_guard guard{mtx_};
    known = live_.count(id) != 0;
  }
  if (!known)
    track(actor);
  set_supervised(id);
}

void actor_tracker::remove(caf::actor_id id) {
  registry_.remove_actor(id);
  std::lock_guard guard{mtx_};
  live_.erase(id);
  if (live_.empty())
    emptied_.notify_all();
}

void actor_tracker::set_supervised(caf::actor_id id) {
  std::lock_guard guard{mtx_};
  if (auto i = live_.find(id); i != live_.end())
    i->second.supervised = true;
}

std::vector<actor_tracker::entry> actor_tracker::live() const {
  std::lock_guard guard{mtx_};
  std::vector<entry> result;
  result.reserve(live_.size());
  for (auto& kv : live_)
    result.push_back(kv.second);
  return result;
}

std::size_t actor_tracker::size() const {
  std::lock_guard guard{mtx_};
  return live_.size();
}

bool actor_tracker::await_empty(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock guard{mtx_};
  return emptied_.wait_until(guard, deadline, [&] { return live_.empty(); });
}

} // namespace troupe::detail
