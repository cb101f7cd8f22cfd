#pragma once

namespace troupe {

/// An overload set of message handlers, one per message type of a mailbox.
///
///   return troupe::handlers{
///     [](int x) { ... },
///     [&](get_count&) { return count; },   // a request's reply (get_count::reply_type)
///     [&](get_next&, troupe::response_promise<int64_t> p) { later.push_back(p); },
///   };
///
/// A handler that takes a troupe::response_promise of its request's reply type as its second
/// parameter returns void and answers through the promise, now or later
/// (see troupe/mailbox/response_promise.hpp).
template <class... Fs>
struct handlers : Fs... {
  using Fs::operator()...;
};

template <class... Fs>
handlers(Fs...) -> handlers<Fs...>;

} // namespace troupe
