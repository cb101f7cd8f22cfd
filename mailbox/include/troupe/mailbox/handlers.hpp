#pragma once

namespace troupe {

/// An overload set of message handlers, one per message type of a mailbox.
///
///   return troupe::handlers{
///     [](int x) { ... },
///     [&](get_count&) { return count; },   // a request's reply (get_count::reply_type)
///   };
template <class... Fs>
struct handlers : Fs... {
  using Fs::operator()...;
};

template <class... Fs>
handlers(Fs...) -> handlers<Fs...>;

} // namespace troupe
