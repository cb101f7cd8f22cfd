# FindCppHttplib
# --------------
# Finds cpp-httplib as Debian ships it (libcpp-httplib-dev): httplib.h with declarations only,
# compiled into the shared libcpp-httplib, and no CMake package of its own. Defines the imported
# target CppHttplib::CppHttplib. The library was compiled with the feature macros its
# pkg-config file lists (TLS, zlib, brotli); they change the layout of its classes, so the
# target carries the same ones. Its include directory is SYSTEM so that our -Werror never trips
# on warnings inside httplib.h.

find_path(CppHttplib_INCLUDE_DIR NAMES httplib.h)
find_library(CppHttplib_LIBRARY NAMES cpp-httplib)

if(CppHttplib_INCLUDE_DIR AND EXISTS "${CppHttplib_INCLUDE_DIR}/httplib.h")
  file(STRINGS "${CppHttplib_INCLUDE_DIR}/httplib.h" cpp_httplib_version_line
       REGEX "^#define CPPHTTPLIB_VERSION \"[0-9.]+\"")
  string(REGEX REPLACE ".*\"([0-9.]+)\".*" "\\1" CppHttplib_VERSION "${cpp_httplib_version_line}")
endif()

set(CppHttplib_DEFINITIONS "")
if(CppHttplib_LIBRARY)
  get_filename_component(cpp_httplib_libdir "${CppHttplib_LIBRARY}" DIRECTORY)
  set(cpp_httplib_pc "${cpp_httplib_libdir}/pkgconfig/cpp-httplib.pc")
  if(EXISTS "${cpp_httplib_pc}")
    file(STRINGS "${cpp_httplib_pc}" cpp_httplib_cflags REGEX "^Cflags:")
    string(REGEX MATCHALL "-DCPPHTTPLIB_[A-Z_]+" cpp_httplib_defines "${cpp_httplib_cflags}")
    foreach(define IN LISTS cpp_httplib_defines)
      string(SUBSTRING "${define}" 2 -1 define)
      list(APPEND CppHttplib_DEFINITIONS "${define}")
    endforeach()
  endif()
endif()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(CppHttplib
  REQUIRED_VARS CppHttplib_INCLUDE_DIR CppHttplib_LIBRARY
  VERSION_VAR CppHttplib_VERSION)

if(CppHttplib_FOUND AND NOT TARGET CppHttplib::CppHttplib)
  find_package(Threads REQUIRED)
  add_library(CppHttplib::CppHttplib SHARED IMPORTED)
  set_target_properties(CppHttplib::CppHttplib PROPERTIES
    IMPORTED_LOCATION "${CppHttplib_LIBRARY}"
    INTERFACE_SYSTEM_INCLUDE_DIRECTORIES "${CppHttplib_INCLUDE_DIR}"
    INTERFACE_INCLUDE_DIRECTORIES "${CppHttplib_INCLUDE_DIR}"
    INTERFACE_COMPILE_DEFINITIONS "${CppHttplib_DEFINITIONS}"
    INTERFACE_LINK_LIBRARIES Threads::Threads)
endif()
mark_as_advanced(CppHttplib_INCLUDE_DIR CppHttplib_LIBRARY)
