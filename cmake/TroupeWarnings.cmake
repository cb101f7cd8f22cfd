# Warnings for Troupe's own code. Dependencies are SYSTEM includes, so these never fire on them.
add_library(troupe_warnings INTERFACE)
target_compile_options(troupe_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
  -Woverloaded-virtual -Wnull-dereference
  $<$<BOOL:${TROUPE_WERROR}>:-Werror>)
