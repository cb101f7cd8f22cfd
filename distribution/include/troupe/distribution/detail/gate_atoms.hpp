#pragma once

#include <caf/atom.hpp>

namespace troupe::detail {

// What gated connections tell the gate's keeper (gate.hpp, step 7).
using gate_watch_atom = caf::atom_constant<caf::atom("tr_gwatch")>;
using gate_unwatch_atom = caf::atom_constant<caf::atom("tr_gunwat")>;
using gate_expire_atom = caf::atom_constant<caf::atom("tr_gexpire")>;

} // namespace troupe::detail
