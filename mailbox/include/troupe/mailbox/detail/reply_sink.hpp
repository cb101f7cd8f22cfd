#pragma once

#include <caf/error.hpp>

namespace troupe::detail {

/// Where the answer to one request goes: a future, an actor, a combinator. Exactly one of
/// complete() or fail() is called, once, from whichever thread handled the request.
class reply_sink_base {
public:
  virtual ~reply_sink_base() = default;
  virtual void fail(caf::error err) = 0;
};

template <class R>
class reply_sink : public reply_sink_base {
public:
  virtual void complete(R value) = 0;
};

} // namespace troupe::detail
