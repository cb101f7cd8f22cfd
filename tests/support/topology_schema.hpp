#pragma once
// Checks a topology dump against docs/topology.schema.json through tests/tools/
// validate_topology.sh: the one way every test (gtest and ctest alike) validates a dump, and the
// one way it skips when python3 or python3-jsonschema is missing (exit 77, with the reason).
//
// Example:
//   auto check = troupe::test::check_topology_schema(rt.topology().dump(), false);
//   if (check.outcome == troupe::test::schema_outcome::unavailable)
//     GTEST_SKIP() << check.output;
//   EXPECT_EQ(check.outcome, troupe::test::schema_outcome::valid) << check.output;

#include <array>
#include <cstdio>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

namespace troupe::test {

enum class schema_outcome { valid, invalid, unavailable };

struct schema_check {
  schema_outcome outcome;
  std::string output; // the validator's words: the errors, or why it could not run
};

/// Writes `dump` to a temporary file and validates it. `tree_required`: a dump without a
/// supervision tree is invalid.
inline schema_check check_topology_schema(const std::string& dump, bool tree_required) {
  // One file per process: ctest runs other test processes that check their dumps at once.
  auto path =
      ::testing::TempDir() + "topology-schema-check-" + std::to_string(::getpid()) + ".json";
  std::ofstream{path} << dump;
  auto command = std::string{TROUPE_SOURCE_DIR} + "/tests/tools/validate_topology.sh " +
                 TROUPE_SOURCE_DIR + "/docs/topology.schema.json " + path +
                 (tree_required ? "" : " --no-tree-required") + " 2>&1";
  schema_check result{schema_outcome::invalid, {}};
  auto* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) {
    result.output = "cannot run " + command;
    return result;
  }
  std::array<char, 512> buf{};
  while (auto n = std::fread(buf.data(), 1, buf.size(), pipe))
    result.output.append(buf.data(), n);
  auto status = ::pclose(pipe);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
    result.outcome = schema_outcome::valid;
  else if (WIFEXITED(status) && WEXITSTATUS(status) == 77)
    result.outcome = schema_outcome::unavailable;
  return result;
}

} // namespace troupe::test
