#pragma once

// coro::send: a flow-controlled send awaited in a task (Tokio's `Sender::send().await`).
//
// Protocol (why the task resumes on its actor, once, and never after it is gone):
//
//  1. await_suspend pushes the message as an actor's send (mailbox::send(self, msg)): accepted,
//     dropped or refused at once ends the co_await without suspending. Only a message parked
//     under backpressure suspends the task.
//  2. The parked message carries two callbacks into the receiver's parking lot; exactly one
//     runs, on whichever thread decided: `on_enqueued` (the message is in the queue) or
//     `on_failed` (the mailbox closed or its actor terminated first; the message comes back).
//     Either only posts a job to the awaiting actor's reply queue (troupe::actor::post_reply).
//  3. The job runs in the actor's turn and resumes the task there, unless the awaiter is gone
//     (its task was destroyed, the loser of a first_of, the actor stopped): the link shared with
//     the job is read and cleared on the actor only, so a late job resumes nothing.
//  4. A message handed back to nobody (the awaiter is gone, or the actor terminated and its
//     reply queue discarded the job) becomes a dead letter of the receiving mailbox when the
//     job is destroyed. A parked message whose sender is gone is still delivered once room
//     frees, as for the callback form (mailbox::send(self, msg, on_sent)).

#include <coroutine>
#include <memory>
#include <optional>
#include <typeinfo>
#include <utility>
#include <variant>

#include <caf/actor_cast.hpp>
#include <caf/error.hpp>

#include "troupe/coro/detail/actor_core.hpp"
#include "troupe/coro/task.hpp"
#include "troupe/mailbox/mailbox.hpp"
#include "troupe/mailbox/mailbox_errc.hpp"
#include "troupe/mailbox/send_result.hpp"

namespace troupe::coro {

/// A send to a typed mailbox awaited inside a troupe::task: `co_await` yields the
/// send_result<T>, suspending only while the message is parked for room. See coro::send().
template <class Mailbox, class T>
class mailbox_send {
public:
  /// Nothing is sent before co_await.
  mailbox_send(Mailbox dest, T msg) : dest_(std::move(dest)), msg_(std::move(msg)) {}
  /// Moves the destination and the message; only before co_await.
  mailbox_send(mailbox_send&& other) noexcept
      : dest_(std::move(other.dest_)), msg_(std::move(other.msg_)) {}
  mailbox_send& operator=(mailbox_send&&) = delete;

  ~mailbox_send() {
    if (link_)
      link_->target = nullptr;
  }

  /// Always false: the outcome is known only after the push in await_suspend.
  [[nodiscard]] bool await_ready() const noexcept { return false; }

  /// Sends from the task's actor; suspends only when the message was parked under
  /// backpressure (protocol step 1).
  template <class Promise>
  bool await_suspend(std::coroutine_handle<Promise> h) {
    auto* self = h.promise().actor();
    if (!dest_) {
      result_.emplace(
          result_type::failed(make_error(mailbox_errc::receiver_dead), std::move(*msg_)));
      return false;
    }
    typename Mailbox::envelope_type env{std::move(*msg_), nullptr};
    msg_.reset();
    link_ = std::make_shared<link>();
    link_->target = this;
    auto keep_alive = caf::actor_cast<caf::strong_actor_ptr>(self);
    auto on_enqueued = [l = link_, self, keep_alive] {
      self->post_reply(std::make_unique<wake>(l, result_type::accepted(), nullptr));
    };
    auto on_failed = [l = link_, self, keep_alive, core = dest_.core()](
                         typename Mailbox::envelope_type&& back, const caf::error& reason) {
      auto r = result_type::failed(reason, back.template take<T>());
      if (reason == mailbox_errc::receiver_dead)
        core->count_dead_letter(typeid(T).name(), reason); // as a send that finds it dead
      self->post_reply(std::make_unique<wake>(l, std::move(r), core));
    };
    switch (dest_.push(env, self, {}, std::move(on_enqueued), std::move(on_failed))) {
    case admission_outcome::parked:
      waiting_ = h;
      return true;
    case admission_outcome::accepted:
      result_.emplace(result_type::accepted());
      break;
    case admission_outcome::dropped:
      result_.emplace(result_type::dropped());
      break;
    case admission_outcome::full:
    case admission_outcome::timeout: // an actor's send never waits; listed for the switch
      result_.emplace(refused(env, mailbox_errc::mailbox_full));
      break;
    case admission_outcome::closed:
      result_.emplace(refused(env, mailbox_errc::closed));
      break;
    case admission_outcome::receiver_dead:
      dest_.core()->count_dead_letter(typeid(T).name(), make_error(mailbox_errc::receiver_dead));
      result_.emplace(refused(env, mailbox_errc::receiver_dead));
      break;
    }
    link_->target = nullptr; // no callback runs for a message that was not parked
    return false;
  }

  /// accepted (also after waiting for room), dropped, or failed with the message handed back.
  send_result<T> await_resume() { return std::move(*result_); }

private:
  using result_type = send_result<T>;

  struct link {
    mailbox_send* target = nullptr; // actor only
  };

  // Protocol steps 3 and 4: resumes the awaiter on its actor, or dead-letters a message that
  // nobody takes back.
  class wake final : public ::troupe::reply_job {
  public:
    wake(std::shared_ptr<link> l, result_type r, std::shared_ptr<typename Mailbox::core_type> core)
        : ::troupe::reply_job(0), link_(std::move(l)), result_(std::move(r)),
          core_(std::move(core)) {}
    wake(const wake&) = delete;
    wake& operator=(const wake&) = delete;

    ~wake() override {
      if (result_ && result_->message() && result_->error() != mailbox_errc::receiver_dead)
        core_->count_dead_letter(typeid(T).name(), result_->error());
    }

    void run() override {
      if (auto* t = std::exchange(link_->target, nullptr)) {
        t->result_.emplace(std::move(*result_));
        result_.reset();
        std::exchange(t->waiting_, {}).resume();
      }
    }

  private:
    std::shared_ptr<link> link_;
    std::optional<result_type> result_;
    std::shared_ptr<typename Mailbox::core_type> core_;
  };

  static result_type refused(typename Mailbox::envelope_type& env, mailbox_errc code) {
    return result_type::failed(make_error(code), env.template take<T>());
  }

  Mailbox dest_;
  std::optional<T> msg_;
  std::optional<result_type> result_;
  std::shared_ptr<link> link_;
  std::coroutine_handle<> waiting_;
};

/// Sends `msg` to `dest` from the awaiting task's actor, with flow control: Tokio's
/// `Sender::send().await`. When there is room the message is queued and the task goes on
/// without suspending; when a bounded mailbox under backpressure is full the message is parked
/// (in order behind the other parked senders) and the task resumes, on its actor, once the
/// message is in the queue. Yields the send_result<T>: accepted, dropped (drop_newest) or failed
/// with the message handed back.
///
/// Example (a producer that never has more than one message waiting for room):
///
///   troupe::task<void> produce(troupe::mailbox<item> sink) {
///     for (int i = 0; i < n; ++i) {
///       item next{i};
///       auto r = co_await troupe::coro::send(sink, next);
///       if (!r) co_return;   // r.error(): closed or receiver_dead, r.message(): the item
///     }
///   }
///
/// Errors (failed, the message handed back): mailbox_errc::mailbox_full (overflow policy
/// `fail`), closed (at once, or when close() comes while the message is parked),
/// receiver_dead (the actor terminated; also counted as a dead letter, as a plain send is).
///
/// Stopping: when the task is destroyed while its message is parked (its actor stopped, it lost
/// a first_of), nothing resumes later; the message stays parked and is delivered once room
/// frees, like a message of mailbox::send(self, msg, on_sent). If the close or the receiver's
/// end fails it instead, it becomes a dead letter of `dest`.
///
/// Thread safety: co_await only inside a troupe::task; the awaitable is awaited at most once.
template <class... Ts, class T>
requires is_one_of_v<T, Ts...>
[[nodiscard]] mailbox_send<mailbox<Ts...>, T> send(const mailbox<Ts...>& dest, T msg) {
  return {dest, std::move(msg)};
}

} // namespace troupe::coro
