#pragma once

#include <string>
#include <typeinfo>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/atom.hpp>
#include <caf/detail/pretty_type_name.hpp>
#include <caf/type_nr.hpp>
#include <caf/uniform_type_info_map.hpp>

#include "troupe/core/reply_sink.hpp"

namespace troupe::detail {

// What Troupe's nodes say to each other besides the users' own messages.
using lookup_atom = caf::atom_constant<caf::atom("tr_lookup")>;  // registry: name -> actor
using describe_atom = caf::atom_constant<caf::atom("tr_descr")>; // gateway: its types' names
using subscribe_atom = caf::atom_constant<caf::atom("tr_sub")>;  // topic gateway: subscribe
using ack_atom = caf::atom_constant<caf::atom("tr_ack")>;        // topic credit
using lagged_atom = caf::atom_constant<caf::atom("tr_lagged")>;  // topic lag notice
using closed_atom = caf::atom_constant<caf::atom("tr_closed")>;  // topic closed

/// The name CAF serializes T under on `sys`, or empty when T is not announced there.
template <class T>
std::string wire_name(const caf::actor_system& sys) {
  const auto& name = sys.types().portable_name(caf::type_nr<T>::value, &typeid(T));
  return name == sys.types().default_type_name() ? std::string{} : name;
}

/// The wire names of a mailbox's message types (empty entries: not announced).
template <class... Ts>
std::vector<std::string> wire_names(const caf::actor_system& sys) {
  return {wire_name<Ts>(sys)...};
}

/// The wire names of T and of its reply type, the first one missing named as a C++ type, or
/// empty when both are announced.
template <class T>
std::string unannounced(const caf::actor_system& sys) {
  if (wire_name<T>(sys).empty())
    return caf::detail::pretty_type_name(typeid(T));
  if (wire_name<reply_t<T>>(sys).empty())
    return caf::detail::pretty_type_name(typeid(reply_t<T>));
  return {};
}

} // namespace troupe::detail
