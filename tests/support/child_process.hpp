#pragma once

// Runs an example program as a child process with its stdout on a pipe: for tests that send it
// real signals or kill it.

#include <array>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <spawn.h>
#include <unistd.h>

extern char** environ;

namespace troupe::test {

struct child_process {
  pid_t pid = -1;
  int out = -1;
};

inline child_process launch(const char* path, std::vector<std::string> args = {}) {
  std::array<int, 2> pipe_fds{};
  EXPECT_EQ(::pipe(pipe_fds.data()), 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, pipe_fds[0]);
  args.insert(args.begin(), {path, "--workers=2"});
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  child_process child;
  EXPECT_EQ(posix_spawn(&child.pid, path, &actions, nullptr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fds[1]);
  child.out = pipe_fds[0];
  return child;
}

// Reads until `needle` appeared or the stream ended; returns everything read.
inline std::string read_until(int fd, const std::string& needle) {
  std::string text;
  std::array<char, 512> buf{};
  while (text.find(needle) == std::string::npos) {
    auto n = ::read(fd, buf.data(), buf.size());
    if (n <= 0)
      break;
    text.append(buf.data(), static_cast<std::size_t>(n));
  }
  return text;
}

} // namespace troupe::test
