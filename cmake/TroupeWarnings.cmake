# Warnings for Troupe's own code. Dependencies are SYSTEM includes, so these never fire on them.
add_library(troupe_warnings INTERFACE)
target_compile_options(troupe_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
  -Woverloaded-virtual -Wnull-dereference
  $<$<BOOL:${TROUPE_WERROR}>:-Werror>
  # GCC 12 reports false "may be used uninitialized" positives when std::optional of a
  # std::variant is moved at -O2 (seen in the mailbox queues' try_pop); it is no longer useful
  # as an error.
  $<$<CXX_COMPILER_ID:GNU>:-Wno-maybe-uninitialized>)
