#pragma once

// An actor written as one coroutine that pulls from its own typed inbox: Tokio's
// task-with-a-channel style on a typed mailbox.
//
// Flow protocol (why no message is lost and the mailbox's bound still holds):
//
//  1. The actor is an ordinary typed mailbox whose handler set is the inbox's: one handler per
//     message type that hands the message to the body. Until the body asks for a message, the
//     body holds the mailbox (coroutine_host::hold_queue), so messages wait in the bounded
//     mailbox itself: overflow policies, parked senders and metrics work as for any mailbox.
//  2. `co_await inbox.recv()` releases the hold and suspends. The actor's dispatch hands the
//     next message to the inbox's handler, which takes the hold again and resumes the body
//     right there, in the actor's turn: exactly one message is handed over per recv.
//  3. When the mailbox was closed (mailbox::close) and drained, recv yields an empty optional.
//     When the body returns, the actor stops normally; an exception escaping it crashes the actor
//     with handler_threw, as a throwing handler does (a supervisor restarts it, running the
//     body anew). A stop from outside destroys the suspended body (its RAII runs), and requests
//     taken but not answered get broken_promise.

#include <coroutine>
#include <cstddef>
#include <memory>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <variant>

#include "troupe/coro/detail/start_body.hpp"
#include "troupe/coro/task.hpp"
#include "troupe/mailbox/handlers.hpp"
#include "troupe/mailbox/mailbox_actor.hpp"
#include "troupe/mailbox/mailbox_closed.hpp"
#include "troupe/mailbox/response_promise.hpp"
#include "troupe/mailbox/spawn_mailbox.hpp"

namespace troupe {

/// One message a task actor took from its inbox (inbox::recv), with the promise that answers
/// it when it is a request. A request left unanswered when this object and every copy of its
/// promise are gone is answered with mailbox_errc::broken_promise.
///
/// Example:
///
///   while (auto m = co_await in.recv()) {
///     if (auto* g = m->get_if<get>())
///       m->promise<get>().deliver(store[g->key]);
///     else if (auto* p = m->get_if<put>())
///       store[p->key] = p->value;
///   }
///
/// Thread safety: use it on the task actor (the promise itself may travel anywhere).
template <class... Ts>
class received {
public:
  /// Internal: made by the inbox's handler for message type Ts...[I].
  template <std::size_t I, class T, class R>
  received(std::in_place_index_t<I> index, T&& msg, response_promise<R> promise)
      : message_(index, std::forward<T>(msg)), promise_(index, std::move(promise)) {}

  /// The message; one alternative per message type of the mailbox.
  [[nodiscard]] std::variant<Ts...>& message() noexcept { return message_; }

  /// Whether the message is a T.
  template <class T>
  [[nodiscard]] bool holds() const noexcept {
    return std::holds_alternative<T>(message_);
  }

  /// The message if it is a T, otherwise nullptr.
  template <class T>
  [[nodiscard]] T* get_if() noexcept {
    return std::get_if<T>(&message_);
  }

  /// The promise that answers the message, a T (see response_promise; for a plain send its
  /// deliver() sends nothing). Copies share one answer. Throws std::bad_variant_access when the
  /// message is not a T.
  template <class T>
  [[nodiscard]] response_promise<reply_t<T>> promise() const {
    return std::get<index_of<T>()>(promise_);
  }

private:
  template <class T>
  static constexpr std::size_t index_of() {
    constexpr bool matches[] = {std::is_same_v<T, Ts>...};
    for (std::size_t i = 0; i < sizeof...(Ts); ++i)
      if (matches[i])
        return i;
    return sizeof...(Ts);
  }

  std::variant<Ts...> message_;
  std::variant<response_promise<reply_t<Ts>>...> promise_;
};

namespace detail {
template <class... Ts>
struct inbox_state;
} // namespace detail

/// The receiving end of a task actor's mailbox (see task_actor()): the body's only way to take
/// messages.
///
/// Thread safety: use it inside the body only.
template <class... Ts>
class inbox {
public:
  /// Internal: made by task_actor() on the actor, as part of its shared state.
  explicit inbox(detail::inbox_state<Ts...>* st) noexcept : st_(st) {}
  inbox(const inbox&) = delete;
  inbox& operator=(const inbox&) = delete;

  /// Awaits the next message of the mailbox, in mailbox order. Yields it, or an empty optional
  /// once the mailbox was closed (mailbox::close) and everything queued before was taken.
  /// Cancel-safe: in a coro::first_of that another branch wins, no message is lost. One recv at
  /// a time: a second one while the first waits throws std::logic_error.
  [[nodiscard]] auto recv() noexcept { return recv_awaiter{st_}; }

  /// The actor the body runs on: for requests, timers, quit(), the mailbox's metrics.
  [[nodiscard]] mailbox_self<Ts...>* self() const noexcept { return st_->self; }

private:
  // Cancel-safe (a loser of coro::first_of): destroyed while still waiting, it takes the hold
  // back, so no message is handed to a frame that is gone; the next recv gets it.
  class recv_awaiter {
  public:
    explicit recv_awaiter(detail::inbox_state<Ts...>* st) noexcept : st_(st) {}
    recv_awaiter(recv_awaiter&& other) noexcept : st_(other.st_) {}
    recv_awaiter(const recv_awaiter&) = delete;
    recv_awaiter& operator=(const recv_awaiter&) = delete;
    recv_awaiter& operator=(recv_awaiter&&) = delete;
    ~recv_awaiter() {
      if (me_ && st_->waiting == me_) {
        st_->waiting = {};
        st_->self->coroutines().hold_queue();
      }
    }

    [[nodiscard]] bool await_ready() const noexcept { return st_->handed || st_->closed; }

    void await_suspend(std::coroutine_handle<> h) {
      // A second recv while one waits would release the hold twice and lose the first waiter.
      if (st_->waiting)
        throw std::logic_error("troupe::inbox: recv() while another recv() of it waits");
      me_ = h;
      st_->waiting = h;
      st_->self->coroutines().release_queue(); // the dispatch may hand over the next message
    }

    std::optional<received<Ts...>> await_resume() noexcept {
      // The hand-over took the hold again; it stays while the body works on the message.
      return std::exchange(st_->handed, std::nullopt);
    }

  private:
    detail::inbox_state<Ts...>* st_;
    std::coroutine_handle<> me_;
  };

  detail::inbox_state<Ts...>* st_;
};

namespace detail {

/// What the inbox's handlers and the body share; lives in the handler set, so it outlives the
/// body's frame (on_exit destroys frames first, then handlers).
template <class... Ts>
struct inbox_state {
  explicit inbox_state(mailbox_self<Ts...>* owner) : self(owner) {}

  mailbox_self<Ts...>* self;
  inbox<Ts...> in{this}; // what the body sees
  // The message handed over and not yet taken by the body's recv.
  std::optional<received<Ts...>> handed;
  std::coroutine_handle<> waiting; // the body, suspended in recv
  bool closed = false;             // the mailbox was closed and drained

  template <std::size_t I, class T, class R>
  void take(std::in_place_index_t<I> index, T& msg, response_promise<R> promise) {
    handed.emplace(index, std::move(msg), std::move(promise));
    self->coroutines().hold_queue(); // one message per recv
    if (auto h = std::exchange(waiting, {}))
      h.resume();
  }

  void take_close() {
    closed = true;
    self->coroutines().hold_queue(); // balanced by the release in recv, as after a message
    if (auto h = std::exchange(waiting, {}))
      h.resume();
  }
};

/// One handler per message type: the I-th hands its message over as alternative I.
template <class State, class... Ts>
auto inbox_handlers(std::shared_ptr<State> st, std::index_sequence<>) {
  return handlers{[st](mailbox_closed&) { st->take_close(); }};
}

template <class State, class T, class... Rest, std::size_t I, std::size_t... Is>
auto inbox_handlers(std::shared_ptr<State> st, std::index_sequence<I, Is...>) {
  auto rest = inbox_handlers<State, Rest...>(st, std::index_sequence<Is...>{});
  auto mine = [st](T& msg, response_promise<reply_t<T>> promise) {
    st->take(std::in_place_index<I>, msg, std::move(promise));
  };
  return handlers{std::move(mine), std::move(rest)};
}

/// Runs the user's body, then stops the actor normally. Holds `body` in its own frame, so a
/// coroutine lambda's captures outlive the coroutine they feed.
template <class Body, class... Ts>
task<void> run_body(Body body, inbox<Ts...>& in) {
  co_await body(in);
  in.self()->quit();
}

} // namespace detail

/// The handler factory of a task actor: pass it to spawn_mailbox (or a supervisor's child
/// factory) in place of a handler set. `body(inbox<Ts...>&)` returns a troupe::task<void>; it
/// starts when the actor starts and the actor stops when it returns (see the top of this
/// header). A supervised task actor that crashed starts its body again.
///
/// Example:
///
///   struct get { std::string key; using reply_type = int; };
///   struct put { std::string key; int value; };
///   auto store = troupe::spawn_mailbox<get, put>(rt, {},
///       troupe::task_actor<get, put>([](troupe::inbox<get, put>& in) -> troupe::task<void> {
///         std::map<std::string, int> values;
///         while (auto m = co_await in.recv()) {
///           if (auto* g = m->get_if<get>())
///             m->promise<get>().deliver(values[g->key]);
///           else if (auto* p = m->get_if<put>())
///             values[p->key] = p->value;
///         }
///       })).value();
///
/// Pitfalls: a body that never calls recv keeps every message waiting (the mailbox fills up and
/// its overflow policy applies). `co_await coro::sequential` has no place in a body (it already
/// holds its mailbox between two recv calls): its hold would last until the body ends, so recv
/// would wait forever. The body holds its mailbox between two recv calls, so a
/// request it sends to itself waits until it next calls recv.
template <class... Ts, class Body>
requires std::is_invocable_r_v<task<void>, Body&, inbox<Ts...>&> auto task_actor(Body body) {
  return [body = std::move(body)](mailbox_self<Ts...>* self) {
    auto st = std::make_shared<detail::inbox_state<Ts...>>(self);
    // Held until the body's first recv: messages wait in the mailbox, not in the inbox.
    self->coroutines().hold_queue();
    self->post_reply(std::make_unique<detail::start_body>(
        detail::run_body<Body, Ts...>(body, st->in), self->coroutines()));
    // The handler set owns the state, inbox included, that the body refers to: it is destroyed
    // after the body's frame (mailbox_self::on_exit).
    return detail::inbox_handlers<detail::inbox_state<Ts...>, Ts...>(
        std::move(st), std::index_sequence_for<Ts...>{});
  };
}

/// Spawns a task actor: spawn_mailbox<Ts...>(rt, opts, task_actor<Ts...>(body)).
/// Errors: the options' validation error (config_errc).
/// Thread safety: any thread.
template <class... Ts, class Body>
requires std::is_invocable_r_v<task<void>, Body&, inbox<Ts...>&> troupe::result<mailbox<Ts...>>
spawn_task_actor(runtime& rt, mailbox_options opts, Body body) {
  return spawn_mailbox<Ts...>(rt, std::move(opts), task_actor<Ts...>(std::move(body)));
}

} // namespace troupe
