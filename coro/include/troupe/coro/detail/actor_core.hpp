#pragma once

// The one place where component coro reaches the actor core's request plumbing: the Troupe
// actor, its table of outstanding requests and its reply queue. Kept to this header so that a
// move of the core to its own public component changes one include list.

#include "troupe/actors/request.hpp"
#include "troupe/core/actor.hpp"
#include "troupe/core/actor_reply_sink.hpp"
#include "troupe/core/continuation.hpp"
#include "troupe/core/reply_sink.hpp"
#include "troupe/mailbox/mailbox.hpp" // envelope_type and push(): what a request puts in the queue
