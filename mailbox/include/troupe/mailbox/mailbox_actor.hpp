#pragma once

#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

#include <caf/actor_storage.hpp>
#include <caf/detail/type_traits.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/expected.hpp>

#include "troupe/core/actor.hpp"
#include "troupe/core/recycled_actor_storage.hpp"
#include "troupe/introspection/topology_registry.hpp"
#include "troupe/mailbox/coroutine_host.hpp"
#include "troupe/mailbox/detail/mailbox_core.hpp"
#include "troupe/mailbox/detail/mailbox_introspection.hpp"
#include "troupe/mailbox/mailbox_closed.hpp"
#include "troupe/mailbox/mailbox_errc.hpp"
#include "troupe/mailbox/mailbox_event_kinds.hpp"
#include "troupe/mailbox/response_promise.hpp"
#include "troupe/runtime/runtime.hpp"

namespace troupe {

/// The actor behind a typed mailbox, as its handlers see it: a troupe::actor (a CAF
/// actor of this process: links, monitors, exit reasons, CAF sends and CAF requests with
/// `self->request(...).then(...)` work as on an event-based actor) that takes its messages
/// from a Troupe queue. Handlers run one at a time, in queue
/// order. When the actor terminates, its handlers (and the state they capture, response
/// promises included) are destroyed, after its suspended coroutines.
///
/// Thread safety: use only from inside the actor's own handlers.
template <class... Ts>
class mailbox_self : public troupe::actor {
public:
  /// Internal: the shared queue state behind the mailbox.
  using core_type = detail::mailbox_core<Ts...>;

  /// Internal: called by CAF's spawn (through spawn_mailbox) with the mailbox's queue state.
  mailbox_self(caf::actor_config& cfg, std::shared_ptr<core_type> core)
      : troupe::actor(cfg), core_(std::move(core)) {}

  ~mailbox_self() override { delete coroutines_.load(std::memory_order_relaxed); }

  /// The mailbox's name (mailbox_options::name), or "mailbox" when it has none.
  const char* name() const override {
    return core_->name().empty() ? "mailbox" : core_->name().c_str();
  }

  /// A snapshot of this actor's mailbox counters.
  [[nodiscard]] mailbox_metrics metrics() const noexcept { return core_->metrics(); }

  /// Internal: the shared queue state.
  [[nodiscard]] const std::shared_ptr<core_type>& core() const noexcept { return core_; }

  /// Internal: the start hook (troupe::actor::make_behavior).
  caf::behavior make_behavior() override { return initialize_actor(); }

  /// Terminates the actor after the current handler (troupe::actor::quit); the
  /// rest of the mailbox is answered with receiver_dead (requests) or
  /// dead-lettered (messages).
  using troupe::actor::quit;

  /// Closes this actor's own mailbox for senders (Tokio's Receiver::close): what is queued is
  /// still handled, then the actor sees troupe::mailbox_closed. Actor only.
  void close_mailbox() { core_->close_for_senders(this); }

  /// The coroutine handlers running on this actor (see troupe::task in component coro).
  /// Actor only.
  [[nodiscard]] coroutine_host& coroutines() {
    if (auto* host = coroutines_.load(std::memory_order_relaxed))
      return *host;
    return make_coroutine_host();
  }

  /// A reply that reaches this actor after it terminated is a dead letter with receiver_dead,
  /// as a message left in its mailbox is.
  [[nodiscard]] caf::error dead_reply_reason() const override {
    return make_error(mailbox_errc::receiver_dead);
  }

protected:
  /// Runs the handler for one envelope; answers its reply sink, if any.
  virtual void dispatch(typename core_type::envelope_type& env) = 0;

  /// Destroys suspended coroutines, answers or dead-letters what is left in the mailbox,
  /// then does troupe::actor::on_exit.
  void on_exit() override {
    // First, while the actor is whole: suspended coroutines run their destructors, which may
    // still use the actor (cancel timers, answer their request with receiver_dead).
    exited_ = true;
    if (auto* host = coroutines_.load(std::memory_order_relaxed))
      host->destroy_all();
    core_->owner_terminated();
    troupe::actor::on_exit();
  }

  /// Runs once the mailbox was closed for senders and drained (see troupe::mailbox_closed).
  virtual void on_mailbox_closed() { quit(); }

  void drain_queue(size_t max) override {
    core_->drain_while([this] { return !stopping_ && !queue_held() && !core_->paused(); },
                       [this](typename core_type::envelope_type&& env) { dispatch(env); },
                       std::min(max, core_->batch()));
    // The close is seen after the last queued message: close_for_senders() sets its flag before
    // it wakes us, so an empty queue with the flag set has nothing left from before the close.
    if (close_pending() && !stopping_ && !queue_held() && !core_->paused() && core_->empty()) {
      close_seen_.store(true, std::memory_order_relaxed);
      on_mailbox_closed();
    }
  }

  // A queue held by a sequential coroutine counts as empty: its messages wait for the
  // coroutine, whose resumption arrives by another path (a reply, a timer) and wakes the actor.
  // A close not yet seen counts as a message; a paused queue counts as empty (resume() wakes
  // the actor).
  [[nodiscard]] bool queue_empty() const noexcept override {
    return queue_held() || core_->paused() || (core_->empty() && !close_pending());
  }

  std::atomic<uint64_t>& queue_anchor() noexcept override { return core_->anchor(); }

private:
  [[nodiscard]] bool close_pending() const noexcept {
    return core_->closed_for_senders() && !close_seen_.load(std::memory_order_relaxed);
  }

  // Whether a sequential coroutine holds the queue; false while no coroutine ever ran here.
  [[nodiscard]] bool queue_held() const noexcept {
    const auto* host = coroutines_.load(std::memory_order_acquire);
    return host != nullptr && host->queue_held();
  }

  // The first coroutine handler makes the host. Published with release for queue_held(), which
  // the wake-up check may call on another worker. A host asked for after the actor exited (no
  // coroutine can have started then) is stopped at once, as destroy_all() left the first one.
  coroutine_host& make_coroutine_host() {
    auto* host = new coroutine_host(this, [](troupe::actor* self, caf::error reason) {
      static_cast<mailbox_self*>(self)->quit(std::move(reason));
    });
    if (exited_)
      host->destroy_all();
    coroutines_.store(host, std::memory_order_release);
    return *host;
  }

  std::shared_ptr<core_type> core_;
  // Owned (deleted by the destructor); null until the first coroutine handler: most actors
  // never run one, and the host is 56 bytes.
  std::atomic<coroutine_host*> coroutines_{nullptr};
  // Written by the actor; read by the wake-up check, which may run on another worker.
  std::atomic<bool> close_seen_{false};
  // Set by on_exit (actor only).
  bool exited_ = false;
};

namespace detail {

/// A handler result that runs on after the handler returned (a troupe::task): it is started on
/// the actor and answers the request, if any, when it finishes.
template <class R>
concept async_handler_result = requires {
  typename R::async_handler_tag;
};

} // namespace detail

namespace detail {

/// A mailbox actor with its user's handler set, made by `Factory` (spawn_mailbox's
/// make_handlers) when the actor starts.
template <class Factory, class... Ts>
class mailbox_actor final : public mailbox_self<Ts...> {
public:
  using super = mailbox_self<Ts...>;
  using envelope_type = typename super::core_type::envelope_type;
  /// The handler set the factory returns.
  using Handlers = std::invoke_result_t<Factory&, mailbox_self<Ts...>*>;

  mailbox_actor(caf::actor_config& cfg, std::shared_ptr<typename super::core_type> core,
                Factory make_handlers)
      : super(cfg, std::move(core)),
        setup_(std::in_place_index<factory_index>, std::move(make_handlers)) {}

  /// Its live figures in the topology (see topology_shape): the core's.
  static nlohmann::json figures_of(const caf::abstract_actor& self) {
    return static_cast<const mailbox_actor&>(self).core()->figures();
  }

  /// What runtime::spawn registers it as: a mailbox, whose node shows its core's figures
  /// (read from the actor when a dump is taken: the node keeps nothing of them).
  static constexpr topology_registry::profile topology_shape{
      .kind = "mailbox", .details_key = mailbox_details_key, .figures = &figures_of};

  caf::behavior make_behavior() override {
    auto make_handlers = std::move(std::get<factory_index>(setup_));
    setup_.template emplace<handlers_index>(make_handlers(static_cast<super*>(this)));
    return super::make_behavior();
  }

protected:
  // The handlers own the user's state, response promises included: destroying them here, as
  // CAF's stateful actors destroy their state, answers the promises still held with
  // broken_promise now, not when the last handle to this actor goes (which a promise for this
  // actor's own request, holding a reference to it, would never let happen).
  void on_exit() override {
    super::on_exit();
    setup_.template emplace<ended_index>();
  }

  void dispatch(envelope_type& env) override {
    trace_scope traced{env.trace};
    env.visit([&](auto& msg) { handle(msg, env.reply); });
  }

  void on_mailbox_closed() override {
    if constexpr (std::is_invocable_v<Handlers&, mailbox_closed&>) {
      mailbox_closed notice;
      try {
        handlers()(notice);
      } catch (const std::exception& e) {
        this->quit(make_error(mailbox_errc::handler_threw, std::string{e.what()}));
      } catch (...) {
        this->quit(make_error(mailbox_errc::handler_threw, std::string{"unknown exception"}));
      }
    } else {
      this->quit(); // a normal exit: nothing can arrive any more (see mailbox_closed)
    }
  }

private:
  template <class T>
  void handle(T& msg, std::unique_ptr<reply_sink_base>& reply) {
    using reply_type = reply_t<T>;
    if constexpr (std::is_invocable_v<Handlers&, T&, response_promise<reply_type>>) {
      handle_with_promise(msg, reply);
    } else {
      static_assert(std::is_invocable_v<Handlers&, T&>,
                    "the handler set has no handler for one of the mailbox's message types "
                    "(a handler that answers later takes (T&, response_promise<reply_t<T>>))");
      handle_with_result(msg, reply);
    }
  }

  // The handler answers through the promise, now or later. This frame keeps a copy: if the
  // handler throws before any copy answered, the requester gets handler_threw (deliver is a
  // no-op once answered), not broken_promise or a wait for copies the handler stored.
  template <class T>
  void handle_with_promise(T& msg, std::unique_ptr<reply_sink_base>& reply) {
    using reply_type = reply_t<T>;
    static_assert(std::is_void_v<std::invoke_result_t<Handlers&, T&, response_promise<reply_type>>>,
                  "a handler that takes a response_promise answers through it and returns void");
    response_promise<reply_type> promise{std::move(reply)};
    try {
      handlers()(msg, response_promise<reply_type>{promise});
    } catch (const std::exception& e) {
      crash(promise, e.what());
    } catch (...) {
      crash(promise, "unknown exception");
    }
  }

  template <class T>
  void handle_with_result(T& msg, std::unique_ptr<reply_sink_base>& reply) {
    using result = std::invoke_result_t<Handlers&, T&>;
    using reply_type = reply_t<T>;
    try {
      if constexpr (std::is_void_v<result>) {
        handlers()(msg);
        if (reply) {
          if constexpr (std::is_same_v<reply_type, caf::unit_t>)
            complete_reply<reply_type>(reply, caf::unit);
          else
            fail_reply(reply, make_error(mailbox_errc::handler_threw,
                                         std::string{"handler returned no reply"}));
        }
      } else if constexpr (detail::async_handler_result<result>) {
        // The coroutine owns the reply from here on; its exceptions crash the actor from
        // inside (see troupe::task), not through this try block.
        // The host first: its first use allocates, and a throw there must find the reply
        // still here (the catch below answers it), not moved into an argument.
        auto& host = this->coroutines();
        start_async_handler<reply_type>(handlers()(msg), host, std::move(reply));
      } else if constexpr (caf::detail::is_expected<result>::value) {
        auto r = handlers()(msg);
        if (reply) {
          if (r)
            complete_reply<reply_type>(reply, reply_type(std::move(*r)));
          else
            fail_reply(reply, std::move(r.error()));
        }
      } else {
        auto r = handlers()(msg);
        if (reply)
          complete_reply<reply_type>(reply, reply_type(std::move(r)));
      }
    } catch (const std::exception& e) {
      crash(reply, e.what());
    } catch (...) {
      crash(reply, "unknown exception");
    }
  }

  // A throwing handler crashes its actor, never the process: the request (if
  // any) gets handler_threw with the exception's message, which is also the
  // exit reason.
  void crash(std::unique_ptr<reply_sink_base>& reply, const char* what) {
    report_crash(what, reply != nullptr);
    auto reason = make_error(mailbox_errc::handler_threw, std::string{what});
    if (reply)
      fail_reply(reply, reason);
    this->quit(std::move(reason));
  }

  template <class R>
  void crash(const response_promise<R>& promise, const char* what) {
    report_crash(what, true);
    auto reason = make_error(mailbox_errc::handler_threw, std::string{what});
    (void)promise.deliver(reason); // already_answered when the handler answered before it threw
    this->quit(std::move(reason));
  }

  // Published here, inside the message's trace scope: the later actor.exited and restart
  // events come from elsewhere, without the trace, and name this actor instead.
  void report_crash(const char* what, bool request) {
    auto* rt = runtime::of(this->home_system());
    if (rt == nullptr || !rt->events().wants(event_level::warning))
      return;
    event e;
    e.level = event_level::warning;
    e.kind = event_kinds::handler_threw;
    e.actor = this->id();
    e.name = this->name();
    e.text = std::string{"handler threw: "} + what;
    e.fields = {{"what", what}, {"request", request}};
    rt->events().publish(std::move(e));
  }

  // Only between make_behavior and on_exit, when handlers run.
  Handlers& handlers() { return std::get<handlers_index>(setup_); }

  // The factory until the actor starts, then the handler set it made, then nothing once the
  // actor ended: one slot for both, since no actor needs them at once (by index: the two
  // types may be the same).
  static constexpr std::size_t factory_index = 0;
  static constexpr std::size_t handlers_index = 1;
  static constexpr std::size_t ended_index = 2;
  std::variant<Factory, Handlers, std::monostate> setup_;
};

} // namespace detail

} // namespace troupe

/// @cond TROUPE_CAF_SPECIALIZATION
// A typed mailbox actor's block (CAF's control block and the actor) is recycled: a churn of
// short-lived mailboxes would otherwise take the heap's lock twice per actor (see
// troupe/core/recycled_actor_storage.hpp). Left out of the API reference: CAF's namespace.
template <class Factory, class... Ts>
class caf::actor_storage<troupe::detail::mailbox_actor<Factory, Ts...>>
    : public troupe::recycled_actor_storage<
          troupe::detail::mailbox_actor<Factory, Ts...>,
          caf::actor_storage<troupe::detail::mailbox_actor<Factory, Ts...>>> {
public:
  using troupe::recycled_actor_storage<
      troupe::detail::mailbox_actor<Factory, Ts...>,
      caf::actor_storage<troupe::detail::mailbox_actor<Factory, Ts...>>>::recycled_actor_storage;
};
/// @endcond
