#include "troupe/runtime/file_write.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "troupe/scheduler/errors.hpp"

namespace troupe {

namespace {

caf::error io_failed(const std::string& path, const char* step, int err) {
  return make_error(runtime_errc::io_failed, path, std::string{step},
                    std::string{std::strerror(err)});
}

} // namespace

caf::error write_file_atomically(const std::string& path, std::string_view text) {
  auto tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "w");
  if (f == nullptr)
    return io_failed(path, "open", errno);
  bool written = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  int write_errno = errno;
  // fclose flushes: a full disk may only show here.
  bool closed = std::fclose(f) == 0;
  int close_errno = errno;
  if (!written || !closed) {
    std::remove(tmp.c_str());
    return io_failed(path, written ? "close" : "write", written ? close_errno : write_errno);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    int rename_errno = errno;
    std::remove(tmp.c_str());
    return io_failed(path, "rename", rename_errno);
  }
  return caf::none;
}

} // namespace troupe
