#pragma once

#include <memory>
#include <type_traits>
#include <variant>

#include <caf/unit.hpp>

#include "troupe/mailbox/detail/reply_sink.hpp"

namespace troupe {

namespace detail {

template <class T, class = void>
struct reply_of {
  using type = caf::unit_t;
};

template <class T>
struct reply_of<T, std::void_t<typename T::reply_type>> {
  using type = std::conditional_t<std::is_void_v<typename T::reply_type>, caf::unit_t,
                                  typename T::reply_type>;
};

} // namespace detail

/// The reply type of a request of type T: `T::reply_type` when T declares one, otherwise
/// caf::unit_t (an acknowledgement that the handler ran).
///
///   struct get_count { using reply_type = int64_t; };
template <class T>
using reply_t = typename detail::reply_of<T>::type;

namespace detail {

/// One queued message and, for a request, where its reply goes. Move-only.
template <class... Ts>
struct envelope {
  std::variant<Ts...> msg;
  std::unique_ptr<reply_sink_base> reply;
};

} // namespace detail

} // namespace troupe
