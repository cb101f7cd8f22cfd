#pragma once

#include <functional>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/message.hpp>

namespace troupe::detail {

/// The request an actor sends to the runtime's blocking gateway: a callable that runs on a
/// blocking-pool thread and returns the response message. Local only; never serialized.
struct blocking_job {
  std::function<caf::message()> run;
};

} // namespace troupe::detail

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::detail::blocking_job)
