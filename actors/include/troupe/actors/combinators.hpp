#pragma once

// Combinators over pending replies, the actor-model forms of join!, try_join!, join_all,
// select!, buffer_unordered and a fallback. Each takes pending replies (from request() inside
// an actor or ask_async() outside) and returns a pending reply, so they compose and are consumed
// the same way: .then(...) inside an actor, await(...) outside.
//
// Where callbacks run: where the inputs' callbacks run (the requesting actor's context for
// request(); receivers' threads for ask_async()). The shared state of a combinator is guarded
// by a mutex so both are safe; inside an actor it is never contended.

#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>
#include <variant>
#include <vector>

#include <caf/expected.hpp>

#include "troupe/actors/detail/arrivals.hpp"
#include "troupe/actors/pending.hpp"
#include "troupe/mailbox/mailbox_errc.hpp"

namespace troupe {

/// join_all / join!: every reply, in input order, each a value or its error. Completes when
/// all inputs have completed; never fails as a whole. The inputs are pending replies, or
/// requests of one type as troupe::request(self, ...) makes them inside a Troupe actor (then
/// no callback of theirs is wrapped in a std::function).
///
///   troupe::gather(std::move(requests)).then([](std::vector<caf::expected<int>> rs) { ... }, ...);
template <detail::reply_source P>
pending<std::vector<caf::expected<typename P::value_type>>> gather(std::vector<P> inputs) {
  using R = typename P::value_type;
  using result = std::vector<caf::expected<R>>;
  return pending<result>{[inputs = std::move(inputs)](auto on_value, auto) mutable {
    if (inputs.empty()) {
      on_value(result{});
      return;
    }
    struct state : detail::arrivals_base {
      std::vector<std::optional<caf::expected<R>>> slots;
      std::size_t left = 0;
      std::function<void(result)> done;

      std::optional<result> value(std::size_t i, R v) { return arrived(i, std::move(v)); }
      std::optional<result> error(std::size_t i, caf::error e) { return arrived(i, std::move(e)); }
      std::optional<result> arrived(std::size_t i, caf::expected<R> x) {
        slots[i].emplace(std::move(x));
        if (--left != 0)
          return std::nullopt;
        result out;
        out.reserve(slots.size());
        for (auto& s : slots)
          out.push_back(std::move(*s));
        return out;
      }
      void deliver(result out) { std::exchange(done, nullptr)(std::move(out)); }
    };
    auto st = std::make_shared<state>();
    st->slots.resize(inputs.size());
    st->left = inputs.size();
    st->done = std::move(on_value);
    detail::start_each(st, inputs);
  }};
}

/// As above, for a vector of pending replies named by its reply type (`gather<int>(...)`).
template <class R>
pending<std::vector<caf::expected<R>>> gather(std::vector<pending<R>> inputs) {
  return gather<pending<R>>(std::move(inputs));
}

/// try_join!: all values in input order, or the first error. The first error completes the
/// whole at once; replies that arrive after it are discarded. The inputs are as for gather().
template <detail::reply_source P>
pending<std::vector<typename P::value_type>> gather_all_or_fail(std::vector<P> inputs) {
  using R = typename P::value_type;
  using result = std::vector<R>;
  // Index 0: all values; index 1: the first error (by index: R may be any type).
  using outcome = std::variant<result, caf::error>;
  return pending<result>{[inputs = std::move(inputs)](auto on_value, auto on_error) mutable {
    if (inputs.empty()) {
      on_value(result{});
      return;
    }
    struct state : detail::arrivals_base {
      std::vector<std::optional<R>> slots;
      std::size_t left = 0;
      bool finished = false;
      std::function<void(result)> done;
      std::function<void(caf::error)> fail;

      std::optional<outcome> value(std::size_t i, R v) {
        if (finished)
          return std::nullopt;
        slots[i].emplace(std::move(v));
        if (--left != 0)
          return std::nullopt;
        finished = true;
        result out;
        out.reserve(slots.size());
        for (auto& s : slots)
          out.push_back(std::move(*s));
        return outcome{std::in_place_index<0>, std::move(out)};
      }
      std::optional<outcome> error(std::size_t, caf::error e) {
        if (finished)
          return std::nullopt;
        finished = true;
        return outcome{std::in_place_index<1>, std::move(e)};
      }
      // Runs once; the callbacks (and what they hold) go as soon as the whole completed, not
      // when the last late reply has arrived.
      void deliver(outcome x) {
        auto on_all = std::exchange(done, nullptr);
        auto on_first_error = std::exchange(fail, nullptr);
        if (x.index() == 0)
          on_all(std::get<0>(std::move(x)));
        else
          on_first_error(std::get<1>(std::move(x)));
      }
    };
    auto st = std::make_shared<state>();
    st->slots.resize(inputs.size());
    st->left = inputs.size();
    st->done = std::move(on_value);
    st->fail = std::move(on_error);
    detail::start_each(st, inputs);
  }};
}

/// As above, for a vector of pending replies named by its reply type.
template <class R>
pending<std::vector<R>> gather_all_or_fail(std::vector<pending<R>> inputs) {
  return gather_all_or_fail<pending<R>>(std::move(inputs));
}

/// select!: the first value to arrive wins; later replies are discarded. Fails only when every
/// input failed, with the last error (or mailbox_errc::abandoned for no inputs). The inputs are
/// as for gather().
template <detail::reply_source P>
pending<typename P::value_type> first_of(std::vector<P> inputs) {
  using R = typename P::value_type;
  // Index 0: the first value; index 1: the last error.
  using outcome = std::variant<R, caf::error>;
  return pending<R>{[inputs = std::move(inputs)](auto on_value, auto on_error) mutable {
    if (inputs.empty()) {
      on_error(make_error(mailbox_errc::abandoned));
      return;
    }
    struct state : detail::arrivals_base {
      std::size_t left = 0;
      bool finished = false;
      std::function<void(R)> done;
      std::function<void(caf::error)> fail;

      std::optional<outcome> value(std::size_t, R v) {
        if (finished)
          return std::nullopt;
        finished = true;
        return outcome{std::in_place_index<0>, std::move(v)};
      }
      std::optional<outcome> error(std::size_t, caf::error e) {
        if (finished || --left != 0)
          return std::nullopt;
        finished = true;
        return outcome{std::in_place_index<1>, std::move(e)};
      }
      // Runs once; the callbacks go as soon as the whole completed (see gather_all_or_fail).
      void deliver(outcome x) {
        auto on_first_value = std::exchange(done, nullptr);
        auto on_last_error = std::exchange(fail, nullptr);
        if (x.index() == 0)
          on_first_value(std::get<0>(std::move(x)));
        else
          on_last_error(std::get<1>(std::move(x)));
      }
    };
    auto st = std::make_shared<state>();
    st->left = inputs.size();
    st->done = std::move(on_value);
    st->fail = std::move(on_error);
    detail::start_each(st, inputs);
  }};
}

/// As above, for a vector of pending replies named by its reply type.
template <class R>
pending<R> first_of(std::vector<pending<R>> inputs) {
  return first_of<pending<R>>(std::move(inputs));
}

/// Fallback on error: the primary's value, or else the fallback's reply. The fallback is made
/// (and its request sent) only when the primary fails or times out.
template <class R>
pending<R> with_fallback(pending<R> primary,
                         std::function<pending<R>(const caf::error&)> fallback) {
  return pending<R>{[primary = std::move(primary),
                     fallback = std::move(fallback)](auto on_value, auto on_error) mutable {
    std::move(primary).then(on_value, [fallback, on_value, on_error](caf::error e) {
      fallback(e).then(on_value, on_error);
    });
  }};
}

/// buffer_unordered / for_each_concurrent: makes one request per index 0..count-1 with
/// `make(i)`, keeping at most `limit` in flight (a limit of 0 is no limit, as in futures'
/// for_each_concurrent); each result goes to `each(i, result)` as it arrives (in completion
/// order). Completes with the number of successful replies once all have completed.
template <class R>
pending<std::size_t> for_each_concurrent(std::size_t count, std::size_t limit,
                                         std::function<pending<R>(std::size_t)> make,
                                         std::function<void(std::size_t, caf::expected<R>)> each) {
  return pending<std::size_t>{
      [count, limit, make = std::move(make), each = std::move(each)](auto on_value, auto) mutable {
        struct state : std::enable_shared_from_this<state> {
          std::mutex mtx;
          std::size_t count;
          std::size_t next = 0;
          std::size_t completed = 0;
          std::size_t succeeded = 0;
          std::function<pending<R>(std::size_t)> make;
          std::function<void(std::size_t, caf::expected<R>)> each;
          std::function<void(std::size_t)> done;

          // Called with the lock released; launches request `i` and, as it completes, the next.
          void launch(std::size_t i) {
            auto self = this->shared_from_this();
            make(i).then([self, i](R v) { self->finish(i, std::move(v)); },
                         [self, i](caf::error e) { self->finish(i, std::move(e)); });
          }

          void finish(std::size_t i, caf::expected<R> x) {
            bool ok = static_cast<bool>(x);
            each(i, std::move(x));
            std::unique_lock guard{mtx};
            ++completed;
            succeeded += ok ? 1 : 0;
            if (completed == count) {
              auto n = succeeded;
              guard.unlock();
              done(n);
              return;
            }
            if (next < count) {
              auto j = next++;
              guard.unlock();
              launch(j);
            }
          }
        };
        auto st = std::make_shared<state>();
        st->count = count;
        st->make = std::move(make);
        st->each = std::move(each);
        st->done = std::move(on_value);
        if (count == 0) {
          st->done(0);
          return;
        }
        std::size_t first;
        {
          std::lock_guard guard{st->mtx};
          first = limit == 0 ? count : std::min(count, limit);
          st->next = first;
        }
        for (std::size_t i = 0; i < first; ++i)
          st->launch(i);
      }};
}

} // namespace troupe
