#pragma once

#include <string>
#include <string_view>

#include <caf/error.hpp>

namespace troupe {

/// Writes `text` to `path` so that a reader never sees half of it: into `path` + ".tmp" first,
/// flushed and closed, then renamed over `path`. Every step is checked; on failure the
/// temporary file is removed and `path` is left as it was.
///
/// Example:
///
///   if (auto err = troupe::write_file_atomically("topology.json", rt.topology().dump(2)))
///     std::cerr << troupe::render(err) << '\n';  // io_failed: path, step, reason
///
/// Errors: runtime_errc::io_failed, context: the path, the failed step ("open", "write",
/// "close", "rename") and the system's reason.
/// Thread safety: any thread; concurrent writers of one path race on its ".tmp" file.
[[nodiscard]] caf::error write_file_atomically(const std::string& path, std::string_view text);

} // namespace troupe
