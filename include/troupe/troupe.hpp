#pragma once

// Everything Troupe offers, in one include. Components can also be included one by one:
// <troupe/scheduler/...>, <troupe/mailbox/...>, <troupe/actors/...>, <troupe/supervision/...>.

#include "troupe/scheduler/blocking_future.hpp"
#include "troupe/scheduler/errors.hpp"
#include "troupe/scheduler/runtime.hpp"
#include "troupe/scheduler/runtime_config.hpp"
#include "troupe/scheduler/runtime_metrics.hpp"

#include "troupe/mailbox/version.hpp"

#include "troupe/actors/version.hpp"

#include "troupe/supervision/version.hpp"
