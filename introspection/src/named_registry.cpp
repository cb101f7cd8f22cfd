#include "troupe/introspection/named_registry.hpp"

#include <caf/detail/pretty_type_name.hpp>

namespace troupe {

caf::error named_registry::put_erased(std::string name, const std::type_info& type,
                                      std::shared_ptr<void> object) {
  std::lock_guard guard{mtx_};
  auto [at, added] = objects_.try_emplace(std::move(name), &type, std::move(object));
  if (!added)
    return make_error(named_errc::name_taken, at->first);
  return caf::none;
}

troupe::result<std::shared_ptr<void>> named_registry::get_erased(const std::string& name,
                                                                 const std::type_info& type) const {
  std::lock_guard guard{mtx_};
  auto i = objects_.find(name);
  if (i == objects_.end())
    return make_error(named_errc::not_found, name);
  if (*i->second.first != type)
    return make_error(named_errc::wrong_type, name, caf::detail::pretty_type_name(*i->second.first),
                      caf::detail::pretty_type_name(type));
  return i->second.second;
}

bool named_registry::contains(const std::string& name) const {
  std::lock_guard guard{mtx_};
  return objects_.count(name) != 0;
}

} // namespace troupe
