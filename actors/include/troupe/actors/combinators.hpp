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
template <class P>
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

      std::optional<result> record(std::size_t i, caf::expected<R> x) {
        slots[i].emplace(std::move(x));
        if (--left != 0)
          return std::nullopt;
        result out;
        out.reserve(slots.size());
        for (auto& s : slots)
          out.push_back(std::move(*s));
        return out;
      }
      void deliver(result out) { done(std::move(out)); }
    };
    auto st = std::make_shared<state>();
    st->slots.resize(inputs.size());
    st->left = inputs.size();
    st->done = std::move(on_value);
    detail::start_each(st, inputs);
  }};
}

/// try_join!: all values in input order, or the first error. The first error completes the
/// whole at once; replies that arrive after it are discarded. The inputs are as for gather().
template <class P>
pending<std::vector<typename P::value_type>> gather_all_or_fail(std::vector<P> inputs) {
  using R = typename P::value_type;
  using result = std::vector<R>;
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

      std::optional<caf::expected<result>> record(std::size_t i, caf::expected<R> x) {
        if (finished)
          return std::nullopt;
        if (!x) {
          finished = true;
          return caf::expected<result>{std::move(x.error())};
        }
        slots[i].emplace(std::move(*x));
        if (--left != 0)
          return std::nullopt;
        finished = true;
        result out;
        out.reserve(slots.size());
        for (auto& s : slots)
          out.push_back(std::move(*s));
        return caf::expected<result>{std::move(out)};
      }
      void deliver(caf::expected<result> outcome) {
        if (outcome)
          done(std::move(*outcome));
        else
          fail(std::move(outcome.error()));
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

/// select!: the first value to arrive wins; later replies are discarded. Fails only when every
/// input failed, with the last error (or mailbox_errc::abandoned for no inputs). The inputs are
/// as for gather().
template <class P>
pending<typename P::value_type> first_of(std::vector<P> inputs) {
  using R = typename P::value_type;
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

      std::optional<caf::expected<R>> record(std::size_t, caf::expected<R> x) {
        if (finished)
          return std::nullopt;
        if (x || --left == 0) {
          finished = true;
          return std::optional<caf::expected<R>>{std::move(x)};
        }
        return std::nullopt;
      }
      void deliver(caf::expected<R> outcome) {
        if (outcome)
          done(std::move(*outcome));
        else
          fail(std::move(outcome.error()));
      }
    };
    auto st = std::make_shared<state>();
    st->left = inputs.size();
    st->done = std::move(on_value);
    st->fail = std::move(on_error);
    detail::start_each(st, inputs);
  }};
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
/// `make(i)`, keeping at most `limit` in flight; each result goes to `each(i, result)` as it
/// arrives (in completion order). Completes with the number of successful replies once all
/// have completed.
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
          first = std::min(count, std::max<std::size_t>(1, limit));
          st->next = first;
        }
        for (std::size_t i = 0; i < first; ++i)
          st->launch(i);
      }};
}

} // namespace troupe
