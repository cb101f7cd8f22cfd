#pragma once

#include "troupe/introspection/metric_registry.hpp"

namespace troupe::detail {

/// Declares the runtime's own figures on `families` (workers, live and spawned actors, the
/// blocking pool, dead letters), read from the dump's `runtime` object and `dead_letters`: the
/// first families of `/metrics`.
void declare_runtime_metric_families(metric_registry& families);

} // namespace troupe::detail
