#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <typeinfo>
#include <utility>

#include <caf/error.hpp>

#include "troupe/scheduler/errors.hpp"
#include "troupe/scheduler/result.hpp"

namespace troupe {

/// Objects shared under a name across one runtime (a component's named channels, say): each
/// name holds one object of one C++ type, for as long as the runtime lives. The type is checked
/// on the way out, so a name registered with one type is never read as another.
///
/// Example:
///
///   struct counter { std::atomic<int> n{0}; };
///   auto err = rt.named().put("hits", std::make_shared<counter>());   // none
///   auto hits = rt.named().get<counter>("hits");                      //
///   result<shared_ptr<counter>> if (hits) ++(*hits)->n; rt.named().get<std::string>("hits");   //
///   named_errc::wrong_type
///
/// Errors: put gives named_errc::name_taken (context: the name); get gives
/// named_errc::not_found (the name) or named_errc::wrong_type (the name, the type it holds, the
/// type asked for).
///
/// Thread safety: every member may be called from any thread; a put happens-before every get
/// that finds its object.
class named_registry {
public:
  /// Registers `object` under `name`; named_errc::name_taken when the name holds an object
  /// already (of any type), which is kept.
  template <class T>
  [[nodiscard]] caf::error put(std::string name, std::shared_ptr<T> object) {
    return put_erased(std::move(name), typeid(T), std::move(object));
  }

  /// The object registered under `name` as a T: named_errc::not_found without one,
  /// named_errc::wrong_type when it is not a T.
  template <class T>
  [[nodiscard]] troupe::result<std::shared_ptr<T>> get(const std::string& name) const {
    auto found = get_erased(name, typeid(T));
    if (!found)
      return std::move(found.error());
    return std::static_pointer_cast<T>(std::move(*found));
  }

  /// True when `name` holds an object, of any type.
  [[nodiscard]] bool contains(const std::string& name) const;

private:
  caf::error put_erased(std::string name, const std::type_info& type, std::shared_ptr<void> object);
  troupe::result<std::shared_ptr<void>> get_erased(const std::string& name,
                                                   const std::type_info& type) const;

  mutable std::mutex mtx_;
  std::map<std::string, std::pair<const std::type_info*, std::shared_ptr<void>>, std::less<>>
      objects_;
};

} // namespace troupe
