#pragma once

#include <memory>

#include <caf/error.hpp>

namespace troupe::detail {

/// Where the answer to one request goes: a future, an actor, a combinator. Exactly one of
/// complete() or fail() is called, once, from whichever thread handled the request.
class reply_sink_base {
public:
  virtual ~reply_sink_base() = default;
  virtual void fail(caf::error err) = 0;

  /// True for sinks that travel on with the answer (they become the reply itself, saving an
  /// allocation per request): answering hands them their own ownership.
  [[nodiscard]] bool answer_takes_ownership() const noexcept { return takes_ownership_; }

protected:
  bool takes_ownership_ = false;
};

template <class R>
class reply_sink : public reply_sink_base {
public:
  virtual void complete(R value) = 0;
};

/// Answers the request behind `sink` with a value; `sink` is empty afterwards.
template <class R>
void complete_reply(std::unique_ptr<reply_sink_base>& sink, R value) {
  auto* target = static_cast<reply_sink<R>*>(sink.get());
  if (target->answer_takes_ownership())
    (void)sink.release();
  target->complete(std::move(value));
  sink.reset();
}

/// Answers the request behind `sink` with an error; `sink` is empty afterwards.
inline void fail_reply(std::unique_ptr<reply_sink_base>& sink, caf::error err) {
  auto* target = sink.get();
  if (target->answer_takes_ownership())
    (void)sink.release();
  target->fail(std::move(err));
  sink.reset();
}

} // namespace troupe::detail
