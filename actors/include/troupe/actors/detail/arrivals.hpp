#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

namespace troupe::detail {

// The shared state of a combinator over several inputs, held by the callbacks of its inputs
// (a reply discarded because its requester ended destroys its callbacks unrun, and so releases
// the state too). The mutex is for inputs whose callbacks run on other threads (ask_async);
// inside an actor it is never contended.
struct arrivals_base {
  std::mutex mtx;
};

// One input's reply reaches `st`: State::record(i, x), under the mutex, returns the outcome of
// the whole once it is known (at most once), which State::deliver(outcome) hands on with the
// mutex released.
template <class State, class R>
void arrive(State& st, std::size_t i, caf::expected<R> x) {
  std::unique_lock guard{st.mtx};
  auto outcome = st.record(i, std::move(x));
  guard.unlock();
  if (outcome)
    st.deliver(std::move(*outcome));
}

// Starts every input with callbacks that report to `st`. The callbacks are passed as they are,
// so an input that keeps its callbacks by type (a request inside a Troupe actor) wraps neither
// in a std::function.
template <class State, class P>
void start_each(const std::shared_ptr<State>& st, std::vector<P>& inputs) {
  using R = typename P::value_type;
  for (std::size_t i = 0; i < inputs.size(); ++i)
    std::move(inputs[i]).then(
        [st, i](R v) { arrive(*st, i, caf::expected<R>{std::move(v)}); },
        [st, i](caf::error e) { arrive(*st, i, caf::expected<R>{std::move(e)}); });
}

} // namespace troupe::detail
