#pragma once

#include <concepts>
#include <cstddef>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include <caf/error.hpp>

namespace troupe::detail {

// What the combinators take: a value with a value_type whose then(on_value, on_error) && runs
// exactly one of the two (troupe::pending, troupe::actor_request).
template <class P>
concept reply_source = requires(P p, void (*on_value)(typename P::value_type),
                                void (*on_error)(caf::error)) {
  std::move(p).then(on_value, on_error);
};

// The shared state of a combinator over several inputs, held by the callbacks of its inputs
// (a reply discarded because its requester ended destroys its callbacks unrun, and so releases
// the state too). The mutex is for inputs whose callbacks run on other threads (ask_async);
// inside an actor it is never contended.
struct arrivals_base {
  std::mutex mtx;
};

// One input's reply reaches `st`: `record(st)`, under the mutex, returns the outcome of the
// whole once it is known (at most once), which State::deliver(outcome) hands on with the mutex
// released.
template <class State, class Record>
void arrive(State& st, Record record) {
  std::unique_lock guard{st.mtx};
  auto outcome = record(st);
  guard.unlock();
  if (outcome)
    st.deliver(std::move(*outcome));
}

// Starts every input with callbacks that report to `st` (State::value(i, v) and
// State::error(i, e)). The callbacks are passed as they are, so an input that keeps its
// callbacks by type (a request inside a Troupe actor) wraps neither in a std::function.
template <class State, reply_source P>
void start_each(const std::shared_ptr<State>& st, std::vector<P>& inputs) {
  using R = typename P::value_type;
  // `[st = st]`, not `[st]`: a plain capture of the const reference would be a const
  // shared_ptr, which every move of a callback (into the request, into its reply object)
  // copies, each copy an atomic increment and a later decrement (12 per input instead of 4).
  for (std::size_t i = 0; i < inputs.size(); ++i)
    std::move(inputs[i]).then(
        [st = st, i](R v) {
          detail::arrive(*st, [&](State& s) { return s.value(i, std::move(v)); });
        },
        [st = st, i](caf::error e) {
          detail::arrive(*st, [&](State& s) { return s.error(i, std::move(e)); });
        });
}

} // namespace troupe::detail
