# TROUPE_SANITIZE=address builds everything with AddressSanitizer and UBSan,
# TROUPE_SANITIZE=thread with ThreadSanitizer. Applied globally so that tests, examples and
# benchmarks link the same runtime as the libraries.
if(TROUPE_SANITIZE STREQUAL "address")
  # `null` stays recoverable so that .ci/ubsan.supp can silence a known finding inside CAF's
  # headers; UBSAN_OPTIONS=halt_on_error=1 still stops at every other report.
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined -fsanitize-recover=null)
  add_link_options(-fsanitize=address,undefined)
  # Executables link as position-dependent code: a position-independent one makes the dynamic
  # loader apply a relocation to every instrumented global's metadata at each start (1.2 million
  # of them in a test binary), which doubled the start of every test process (0.68 s against
  # 0.34 s for mailbox_tests) in a suite that starts one process per test.
  add_link_options($<$<STREQUAL:$<TARGET_PROPERTY:TYPE>,EXECUTABLE>:-no-pie>)
elseif(TROUPE_SANITIZE STREQUAL "thread")
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
elseif(NOT TROUPE_SANITIZE STREQUAL "")
  message(FATAL_ERROR "TROUPE_SANITIZE must be empty, 'address' or 'thread', not '${TROUPE_SANITIZE}'")
endif()
