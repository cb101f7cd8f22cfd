// Compiled by tests/CMakeLists.txt (compile_fail.*) with one of these defined; each must fail to
// compile with the readable static_assert of troupe::detail::require_troupe_actor. Without any,
// it must compile: the failures are the `self`, nothing else.
//   TROUPE_CASE_TOPIC    topic::subscribe with a plain CAF actor
//   TROUPE_CASE_UNSUB    topic::unsubscribe with a plain CAF actor
//   TROUPE_CASE_WATCHED  watched::subscribe with a plain CAF actor
#include <caf/all.hpp>

#include "troupe/actors/topic.hpp"
#include "troupe/actors/watched.hpp"

struct quote {
  int price = 0;
};

// Travels in CAF messages (the handle subscription of the control case sends it).
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, quote& x) {
  return f(x.price);
}

void plain_actor_subscribes(caf::event_based_actor* self, troupe::topic<quote> prices,
                            troupe::watched<int> rate) {
#if defined(TROUPE_CASE_TOPIC)
  (void)prices.subscribe(
      self, [](const quote&) {}, [](troupe::lagged) {});
#elif defined(TROUPE_CASE_UNSUB)
  prices.unsubscribe(self);
#elif defined(TROUPE_CASE_WATCHED)
  rate.subscribe(self, [](const int&) {});
#else
  // Plain CAF actors subscribe as actor handles, which is fine.
  (void)prices.subscribe(caf::actor_cast<caf::actor>(self));
  (void)self;
  (void)rate;
#endif
}

int main() {
  return 0;
}
