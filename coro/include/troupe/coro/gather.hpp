#pragma once

// Concurrency inside one task: gather (join!), gather_all_or_fail (try_join!) and first_of
// (select!), over a fixed list of inputs, and gather and gather_all_or_fail over a std::vector
// of inputs of one type (Tokio's join_all / try_join_all). Each input (a troupe::task or any
// awaitable of this component) runs as a branch: a child frame on the same actor, started at once,
// so the inputs' requests and timers are in flight together. Branches are resumed by their own
// wake-ups, always in the actor's turn; the group resumes the awaiting task when it is decided.
//
// Cancellation: a branch that is no longer needed (the losers of first_of, the rest of a
// failed gather_all_or_fail) is destroyed at once: its awaitables detach (a late reply is
// dropped and counted in coroutine_host::late_replies(), a timer is released), and its RAII runs.

#include <array>
#include <coroutine>
#include <cstddef>
#include <exception>
#include <optional>
#include <stdexcept>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "troupe/coro/task.hpp"

namespace troupe::detail {

template <class A>
struct awaited {
  using type = decltype(std::declval<A&>().await_resume());
};

template <class T>
struct awaited<task<T>> {
  using type = T;
};

template <class A>
using awaited_t = std::decay_t<typename awaited<std::decay_t<A>>::type>;

template <class A>
task<awaited_t<A>> as_branch(A a) {
  co_return co_await std::move(a);
}

template <class T>
task<T> as_branch(task<T> t) {
  return t;
}

template <class T>
struct expected_value;

template <class T>
struct expected_value<caf::expected<T>> {
  using type = T;
};

/// The part of a group that branches report to.
class branch_group {
public:
  virtual ~branch_group() = default;
  virtual std::coroutine_handle<> on_branch_done(std::size_t index) noexcept = 0;

  static std::coroutine_handle<> branch_done(task_promise_base& p) noexcept {
    return static_cast<branch_group*>(p.root_context_)->on_branch_done(p.branch_index_);
  }

protected:
  /// After a decision in a branch: the awaiting task, unless the group is still starting its
  /// branches (then await_suspend declines to suspend instead).
  std::coroutine_handle<> wake() noexcept {
    if (starting_)
      return std::noop_coroutine();
    return std::exchange(waiting_, {});
  }

  template <class T>
  void start(task<T>& t, std::size_t index, coroutine_host* host) {
    auto h = t.handle(); // the group keeps ownership: the frame lives as long as it does
    auto& p = h.promise();
    p.host_ = host;
    p.on_root_done_ = &branch_group::branch_done;
    p.root_context_ = this;
    p.branch_index_ = index;
    h.resume();
  }

  std::coroutine_handle<> waiting_;
  bool starting_ = false;
  bool decided_ = false;
};

template <class Tuple, class F, std::size_t... Is>
void for_each_index(Tuple& xs, F&& f, std::index_sequence<Is...>) {
  (f(std::get<Is>(xs), std::integral_constant<std::size_t, Is>{}), ...);
}

template <class... Ts>
class group_base : public branch_group {
public:
  explicit group_base(task<Ts>... ts) : tasks_(std::move(ts)...) {}
  group_base(group_base&& other) noexcept : tasks_(std::move(other.tasks_)) {}

  [[nodiscard]] bool await_ready() const noexcept { return sizeof...(Ts) == 0; }

  template <class Promise>
  bool await_suspend(std::coroutine_handle<Promise> h) {
    // As co_await on an empty task: an empty input would never report, so the group would
    // never finish.
    std::apply(
        [](auto&... t) {
          if ((!t.valid() || ...))
            throw std::logic_error("troupe::coro: an empty troupe::task among a group's inputs");
        },
        tasks_);
    auto* host = h.promise().host();
    waiting_ = h;
    left_ = sizeof...(Ts);
    starting_ = true;
    for_each_index(
        tasks_,
        [&](auto& t, auto index) {
          if (!decided_ && t.valid())
            start(t, index, host);
        },
        std::index_sequence_for<Ts...>{});
    starting_ = false;
    if (decided_ || left_ == 0) {
      waiting_ = {};
      return false;
    }
    return true;
  }

protected:
  template <std::size_t I>
  auto& promise_of() noexcept {
    return std::get<I>(tasks_).handle().promise();
  }

  /// Destroys every branch but `keep` (cancellation of the rest).
  void cancel_others(std::size_t keep) noexcept {
    for_each_index(
        tasks_,
        [&](auto& t, auto index) {
          if (index != keep)
            t = {};
        },
        std::index_sequence_for<Ts...>{});
  }

  void rethrow_any() {
    for_each_index(
        tasks_,
        [&](auto&, auto index) {
          if (std::get<index>(tasks_).valid())
            if (auto ex = promise_of<index>().exception_)
              std::rethrow_exception(ex);
        },
        std::index_sequence_for<Ts...>{});
  }

  std::tuple<task<Ts>...> tasks_;
  std::size_t left_ = 0;
};

template <class... Ts>
class gather_awaiter final : public group_base<Ts...> {
public:
  using group_base<Ts...>::group_base;

  std::coroutine_handle<> on_branch_done(std::size_t) noexcept override {
    if (--this->left_ == 0)
      return this->wake();
    return std::noop_coroutine();
  }

  std::tuple<Ts...> await_resume() {
    this->rethrow_any();
    return take(std::index_sequence_for<Ts...>{});
  }

private:
  template <std::size_t... Is>
  std::tuple<Ts...> take(std::index_sequence<Is...>) {
    return std::tuple<Ts...>{std::move(*this->template promise_of<Is>().value_)...};
  }
};

template <class... Ts>
class all_or_fail_awaiter final : public group_base<Ts...> {
public:
  using result_type = caf::expected<std::tuple<typename expected_value<Ts>::type...>>;
  using group_base<Ts...>::group_base;

  std::coroutine_handle<> on_branch_done(std::size_t index) noexcept override {
    bool failed = false;
    for_each_index(
        this->tasks_,
        [&](auto&, auto i) {
          if (i == index) {
            auto& p = this->template promise_of<i>();
            failed = p.exception_ || !*p.value_;
          }
        },
        std::index_sequence_for<Ts...>{});
    if (failed) {
      this->decided_ = true;
      failed_ = index;
      this->cancel_others(index);
      return this->wake();
    }
    if (--this->left_ == 0)
      return this->wake();
    return std::noop_coroutine();
  }

  result_type await_resume() {
    this->rethrow_any();
    if (failed_) {
      caf::error err;
      for_each_index(
          this->tasks_,
          [&](auto&, auto i) {
            if (i == *failed_)
              err = std::move(this->template promise_of<i>().value_->error());
          },
          std::index_sequence_for<Ts...>{});
      return err;
    }
    return take(std::index_sequence_for<Ts...>{});
  }

private:
  template <std::size_t... Is>
  result_type take(std::index_sequence<Is...>) {
    return std::make_tuple(std::move(**this->template promise_of<Is>().value_)...);
  }

  std::optional<std::size_t> failed_;
};

template <class... Ts>
class first_of_awaiter final : public group_base<Ts...> {
public:
  using group_base<Ts...>::group_base;

  std::coroutine_handle<> on_branch_done(std::size_t index) noexcept override {
    if (this->decided_)
      return std::noop_coroutine();
    this->decided_ = true;
    winner_ = index;
    this->cancel_others(index);
    return this->wake();
  }

  std::variant<Ts...> await_resume() {
    this->rethrow_any();
    std::optional<std::variant<Ts...>> result;
    for_each_index(
        this->tasks_,
        [&](auto&, auto i) {
          if (i == winner_)
            result.emplace(std::in_place_index<i>,
                           std::move(*this->template promise_of<i>().value_));
        },
        std::index_sequence_for<Ts...>{});
    return std::move(*result);
  }

private:
  std::size_t winner_ = 0;
};

/// The runtime-sized group: the branches of a std::vector of inputs of one type.
template <class T>
class vector_group_base : public branch_group {
public:
  explicit vector_group_base(std::vector<task<T>> ts) : tasks_(std::move(ts)) {}
  vector_group_base(vector_group_base&& other) noexcept : tasks_(std::move(other.tasks_)) {}

  [[nodiscard]] bool await_ready() const noexcept { return tasks_.empty(); }

  template <class Promise>
  bool await_suspend(std::coroutine_handle<Promise> h) {
    // As co_await on an empty task: an empty input would never report, so the group would
    // never finish.
    for (auto& t : tasks_)
      if (!t.valid())
        throw std::logic_error("troupe::coro: an empty troupe::task among a group's inputs");
    auto* host = h.promise().host();
    waiting_ = h;
    left_ = tasks_.size();
    starting_ = true;
    for (std::size_t i = 0; i < tasks_.size() && !decided_; ++i)
      if (tasks_[i].valid())
        start(tasks_[i], i, host);
    starting_ = false;
    if (decided_ || left_ == 0) {
      waiting_ = {};
      return false;
    }
    return true;
  }

protected:
  task_promise<T>& promise_of(std::size_t i) noexcept { return tasks_[i].handle().promise(); }

  /// Destroys every branch but `keep` (cancellation of the rest).
  void cancel_others(std::size_t keep) noexcept {
    for (std::size_t i = 0; i < tasks_.size(); ++i)
      if (i != keep)
        tasks_[i] = {};
  }

  void rethrow_any() {
    for (auto& t : tasks_)
      if (t.valid())
        if (auto ex = t.handle().promise().exception_)
          std::rethrow_exception(ex);
  }

  std::vector<task<T>> tasks_;
  std::size_t left_ = 0;
};

template <class T>
class gather_vector_awaiter final : public vector_group_base<T> {
public:
  using vector_group_base<T>::vector_group_base;

  std::coroutine_handle<> on_branch_done(std::size_t) noexcept override {
    if (--this->left_ == 0)
      return this->wake();
    return std::noop_coroutine();
  }

  std::vector<T> await_resume() {
    this->rethrow_any();
    std::vector<T> out;
    out.reserve(this->tasks_.size());
    for (std::size_t i = 0; i < this->tasks_.size(); ++i)
      out.push_back(std::move(*this->promise_of(i).value_));
    return out;
  }
};

template <class T>
class all_or_fail_vector_awaiter final : public vector_group_base<T> {
public:
  using value_type = typename expected_value<T>::type;
  using result_type = caf::expected<std::vector<value_type>>;
  using vector_group_base<T>::vector_group_base;

  std::coroutine_handle<> on_branch_done(std::size_t index) noexcept override {
    auto& p = this->promise_of(index);
    if (p.exception_ || !*p.value_) {
      this->decided_ = true;
      failed_ = index;
      this->cancel_others(index);
      return this->wake();
    }
    if (--this->left_ == 0)
      return this->wake();
    return std::noop_coroutine();
  }

  result_type await_resume() {
    this->rethrow_any();
    if (failed_)
      return std::move(this->promise_of(*failed_).value_->error());
    std::vector<value_type> out;
    out.reserve(this->tasks_.size());
    for (std::size_t i = 0; i < this->tasks_.size(); ++i)
      out.push_back(std::move(**this->promise_of(i).value_));
    return out;
  }

private:
  std::optional<std::size_t> failed_;
};

template <class A>
std::vector<task<awaited_t<A>>> as_branches(std::vector<A> inputs) {
  std::vector<task<awaited_t<A>>> out;
  out.reserve(inputs.size());
  for (auto& a : inputs)
    out.push_back(as_branch(std::move(a)));
  return out;
}

} // namespace troupe::detail

namespace troupe::coro {

/// join!: runs every input concurrently on the awaiting task's actor and yields all their
/// results, in input order, once all are done. Inputs are tasks or awaitables (requests,
/// timers, blocking work); each result is what awaiting that input alone yields (so errors
/// stay per input, as caf::expected).
///
/// Example:
///
///   auto [a, b] = co_await troupe::coro::gather(coro::request(x, get{}, 1s),
///                                               coro::request(y, get{}, 1s));
///
/// Errors: none of its own; an exception thrown by an input is rethrown once all are done.
/// Thread safety: co_await only inside a troupe::task.
template <class... As>
[[nodiscard]] auto gather(As... inputs) {
  return detail::gather_awaiter<detail::awaited_t<As>...>{detail::as_branch(std::move(inputs))...};
}

/// try_join!: like gather, for inputs that yield caf::expected; yields
/// caf::expected<std::tuple<values...>>. The first error wins: the other inputs are cancelled
/// at once (their late replies dropped and counted, timers released) and it is returned.
///
/// Example:
///
///   auto both = co_await troupe::coro::gather_all_or_fail(coro::request(x, get{}, 1s),
///                                                         coro::request(y, get{}, 1s));
///   if (!both) co_return both.error();
template <class... As>
[[nodiscard]] auto gather_all_or_fail(As... inputs) {
  return detail::all_or_fail_awaiter<detail::awaited_t<As>...>{
      detail::as_branch(std::move(inputs))...};
}

/// join_all: gather over a runtime-sized collection of inputs of one type (tasks or
/// awaitables). All run concurrently on the awaiting task's actor; yields a std::vector with
/// each input's result in input order once all are done (for requests, one caf::expected per
/// input). An empty vector yields an empty vector at once.
///
/// Example:
///
///   std::vector<troupe::coro::mailbox_request<shard_box, get>> asks;
///   for (auto& s : shards)
///     asks.push_back(troupe::coro::request(s, get{key}, 1s));
///   std::vector<caf::expected<int64_t>> counts = co_await troupe::coro::gather(std::move(asks));
///
/// Errors: none of its own; an exception thrown by an input is rethrown once all are done.
/// Thread safety: co_await only inside a troupe::task.
template <class A>
[[nodiscard]] auto gather(std::vector<A> inputs) {
  return detail::gather_vector_awaiter<detail::awaited_t<A>>{
      detail::as_branches(std::move(inputs))};
}

/// try_join_all: gather_all_or_fail over a runtime-sized collection of inputs that yield
/// caf::expected<V>; yields caf::expected<std::vector<V>> in input order. The first error
/// wins: the other inputs are cancelled at once (late replies dropped and counted, timers
/// released) and it is returned. An empty vector yields an empty vector at once.
///
/// Example:
///
///   auto all = co_await troupe::coro::gather_all_or_fail(std::move(asks));
///   if (!all) co_return all.error();
///
/// Thread safety: co_await only inside a troupe::task.
template <class A>
[[nodiscard]] auto gather_all_or_fail(std::vector<A> inputs) {
  return detail::all_or_fail_vector_awaiter<detail::awaited_t<A>>{
      detail::as_branches(std::move(inputs))};
}

/// select!: runs the inputs concurrently and yields the first to finish as a std::variant
/// whose index is the winner's position; the others are cancelled at once (late replies
/// dropped and counted, timers released, their RAII run). Inputs may be of different kinds: a
/// request, a timer, a cancellation, a task.
///
/// Example (a request with a fallback after 50 ms):
///
///   auto r = co_await troupe::coro::first_of(coro::request(primary, get{}, 1s),
///                                            coro::sleep_for(50ms));
///   if (r.index() == 1) { /* timed out first */ }
template <class... As>
[[nodiscard]] auto first_of(As... inputs) {
  return detail::first_of_awaiter<detail::awaited_t<As>...>{
      detail::as_branch(std::move(inputs))...};
}

} // namespace troupe::coro
