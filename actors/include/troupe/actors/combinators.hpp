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

#include "troupe/actors/pending.hpp"
#include "troupe/mailbox/mailbox_errc.hpp"

namespace troupe {

/// join_all / join!: every reply, in input order, each a value or its error. Completes when
/// all inputs have completed; never fails as a whole.
///
///   troupe::gather(std::move(requests)).then([](std::vector<caf::expected<int>> rs) { ... }, ...);
template <class R>
pending<std::vector<caf::expected<R>>> gather(std::vector<pending<R>> inputs) {
  using result = std::vector<caf::expected<R>>;
  return pending<result>{[inputs = std::move(inputs)](auto on_value, auto) mutable {
    struct state {
      std::mutex mtx;
      std::vector<std::optional<caf::expected<R>>> slots;
      std::size_t left;
      std::function<void(result)> done;
    };
    auto st = std::make_shared<state>();
    st->slots.resize(inputs.size());
    st->left = inputs.size();
    st->done = std::move(on_value);
    if (inputs.empty()) {
      st->done(result{});
      return;
    }
    auto arrive = [st](std::size_t i, caf::expected<R> x) {
      std::unique_lock guard{st->mtx};
      st->slots[i].emplace(std::move(x));
      if (--st->left != 0)
        return;
      result out;
      out.reserve(st->slots.size());
      for (auto& s : st->slots)
        out.push_back(std::move(*s));
      guard.unlock();
      st->done(std::move(out));
    };
    for (std::size_t i = 0; i < inputs.size(); ++i)
      std::move(inputs[i]).then([arrive, i](R v) { arrive(i, std::move(v)); },
                                [arrive, i](caf::error e) { arrive(i, std::move(e)); });
  }};
}

/// try_join!: all values in input order, or the first error. The first error completes the
/// whole at once; replies that arrive after it are discarded.
template <class R>
pending<std::vector<R>> gather_all_or_fail(std::vector<pending<R>> inputs) {
  using result = std::vector<R>;
  return pending<result>{[inputs = std::move(inputs)](auto on_value, auto on_error) mutable {
    struct state {
      std::mutex mtx;
      std::vector<std::optional<R>> slots;
      std::size_t left;
      bool finished = false;
      std::function<void(result)> done;
      std::function<void(caf::error)> fail;
    };
    auto st = std::make_shared<state>();
    st->slots.resize(inputs.size());
    st->left = inputs.size();
    st->done = std::move(on_value);
    st->fail = std::move(on_error);
    if (inputs.empty()) {
      st->done(result{});
      return;
    }
    for (std::size_t i = 0; i < inputs.size(); ++i)
      std::move(inputs[i]).then(
          [st, i](R v) {
            std::unique_lock guard{st->mtx};
            if (st->finished)
              return;
            st->slots[i].emplace(std::move(v));
            if (--st->left != 0)
              return;
            st->finished = true;
            result out;
            out.reserve(st->slots.size());
            for (auto& s : st->slots)
              out.push_back(std::move(*s));
            guard.unlock();
            st->done(std::move(out));
          },
          [st](caf::error e) {
            std::unique_lock guard{st->mtx};
            if (st->finished)
              return;
            st->finished = true;
            guard.unlock();
            st->fail(std::move(e));
          });
  }};
}

/// select!: the first value to arrive wins; later replies are discarded. Fails only when every
/// input failed, with the last error (or mailbox_errc::abandoned for no inputs).
template <class R>
pending<R> first_of(std::vector<pending<R>> inputs) {
  return pending<R>{[inputs = std::move(inputs)](auto on_value, auto on_error) mutable {
    struct state {
      std::mutex mtx;
      std::size_t left;
      bool finished = false;
      std::function<void(R)> done;
      std::function<void(caf::error)> fail;
    };
    auto st = std::make_shared<state>();
    st->left = inputs.size();
    st->done = std::move(on_value);
    st->fail = std::move(on_error);
    if (inputs.empty()) {
      st->fail(make_error(mailbox_errc::abandoned));
      return;
    }
    for (auto& input : inputs)
      std::move(input).then(
          [st](R v) {
            std::unique_lock guard{st->mtx};
            if (st->finished)
              return;
            st->finished = true;
            guard.unlock();
            st->done(std::move(v));
          },
          [st](caf::error e) {
            std::unique_lock guard{st->mtx};
            if (st->finished || --st->left != 0)
              return;
            st->finished = true;
            guard.unlock();
            st->fail(std::move(e));
          });
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
