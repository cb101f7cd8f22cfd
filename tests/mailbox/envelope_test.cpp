// The envelope a queued message travels in: a mailbox of one type holds the message itself, a
// mailbox of several a variant of them; both hand the message to a visitor and give it back.
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <variant>

#include <gtest/gtest.h>

#include "troupe/mailbox/detail/envelope.hpp"

using troupe::detail::envelope;

TEST(Envelope, OneTypeHoldsTheMessageItselfWithoutAVariantIndex) {
  static_assert(std::is_same_v<envelope<std::uint64_t>::message_type, std::uint64_t>);
  // The message, the reply sink and the trace: no index padded to the message's alignment.
  EXPECT_EQ(sizeof(envelope<std::uint64_t>),
            sizeof(std::uint64_t) + sizeof(void*) + sizeof(troupe::trace_id));
  envelope<std::uint64_t> env{41, nullptr};
  std::uint64_t seen = 0;
  env.visit([&](std::uint64_t& x) { seen = ++x; });
  EXPECT_EQ(seen, 42u);
  EXPECT_EQ(env.take<std::uint64_t>(), 42u);
}

TEST(Envelope, SeveralTypesVisitTheAlternativeSent) {
  static_assert(
      std::is_same_v<envelope<int, std::string>::message_type, std::variant<int, std::string>>);
  envelope<int, std::string> env{std::string{"hello"}, nullptr};
  std::string seen;
  env.visit([&](auto& m) {
    if constexpr (std::is_same_v<std::decay_t<decltype(m)>, std::string>)
      seen = m;
  });
  EXPECT_EQ(seen, "hello");
  EXPECT_EQ(env.take<std::string>(), "hello");
}

TEST(Envelope, AMoveOnlyMessageOfOneTypeIsMovedOut) {
  envelope<std::unique_ptr<int>> env{std::make_unique<int>(7), nullptr};
  auto p = env.take<std::unique_ptr<int>>();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(*p, 7);
  EXPECT_EQ(env.msg, nullptr);
}
