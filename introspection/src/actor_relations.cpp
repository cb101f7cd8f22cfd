#include "troupe/introspection/detail/actor_relations.hpp"

#include <mutex>

#include <caf/abstract_actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/default_attachable.hpp>
#include <caf/monitorable_actor.hpp>

namespace troupe::detail {
namespace {

// Protected members are reachable as pointers to members through a derived class; the class is
// never instantiated.
struct attachables_access : caf::monitorable_actor {
  static constexpr auto head = &attachables_access::attachables_head_;
  static constexpr auto mutex = &attachables_access::mtx_;
};

// Private members of default_attachable: an explicit instantiation may name them ([temp.spec]),
// and the friend function hands the pointer to member out of it.
struct observer_member {
  using type = caf::actor_addr caf::default_attachable::*;
  friend type member_of(observer_member);
};
struct observe_type_member {
  using type = caf::default_attachable::observe_type caf::default_attachable::*;
  friend type member_of(observe_type_member);
};

template <class Tag, typename Tag::type Member>
struct member_export {
  friend typename Tag::type member_of(Tag) { return Member; }
};

template struct member_export<observer_member, &caf::default_attachable::observer_>;
template struct member_export<observe_type_member, &caf::default_attachable::type_>;

} // namespace

actor_relations relations_of(caf::abstract_actor& actor) {
  actor_relations out;
  auto* monitorable = dynamic_cast<caf::monitorable_actor*>(&actor);
  if (monitorable == nullptr)
    return out;
  std::lock_guard guard{monitorable->*attachables_access::mutex};
  for (auto* a = (monitorable->*attachables_access::head).get(); a != nullptr; a = a->next.get()) {
    auto* observer = dynamic_cast<caf::default_attachable*>(a);
    if (observer == nullptr)
      continue; // a functor attached with attach_functor, not a link or monitor
    const auto& addr = observer->*member_of(observer_member{});
    if (!addr)
      continue;
    auto id = addr.id();
    if (observer->*member_of(observe_type_member{}) == caf::default_attachable::link)
      out.links.push_back(id);
    else
      out.monitored_by.push_back(id);
  }
  return out;
}

} // namespace troupe::detail
