# `cmake --install` lays out headers, libraries and an exported package, so that another
# project can say find_package(troupe) and link troupe::troupe.
include(CMakePackageConfigHelpers)

get_property(troupe_components GLOBAL PROPERTY TROUPE_COMPONENTS)
install(TARGETS ${troupe_components} troupe
        EXPORT troupe-targets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

set(troupe_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/troupe)
install(EXPORT troupe-targets NAMESPACE troupe:: DESTINATION ${troupe_cmake_dir})
configure_package_config_file(cmake/troupe-config.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/troupe-config.cmake
  INSTALL_DESTINATION ${troupe_cmake_dir})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/troupe-config-version.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES
  ${CMAKE_CURRENT_BINARY_DIR}/troupe-config.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/troupe-config-version.cmake
  cmake/FindCAF.cmake
  cmake/FindCppHttplib.cmake
  DESTINATION ${troupe_cmake_dir})

# -- pkg-config: troupe.pc and troupe-distribution.pc for builds that do not use CMake ------------
# As with the CMake targets, networking is its own package: `pkg-config troupe` links no CAF
# networking and no libcrypto; `pkg-config troupe-distribution` adds them (and requires troupe).
# Libraries in link order: each component before the one it depends on.
set(troupe_pc_libs "")
foreach(component IN LISTS troupe_components)
  if(component STREQUAL "troupe_distribution")
    continue()
  endif()
  get_target_property(output_name ${component} OUTPUT_NAME)
  string(PREPEND troupe_pc_libs "-l${output_name} ")
endforeach()
string(STRIP "${troupe_pc_libs}" troupe_pc_libs)
set(troupe_pc_dir ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
file(RELATIVE_PATH troupe_pc_to_prefix "/${troupe_pc_dir}" "/")
string(REGEX REPLACE "/$" "" troupe_pc_to_prefix "${troupe_pc_to_prefix}")
configure_file(cmake/troupe.pc.in ${CMAKE_CURRENT_BINARY_DIR}/troupe.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/troupe.pc DESTINATION ${troupe_pc_dir})
if(TARGET troupe_distribution)
  get_target_property(troupe_distribution_lib troupe_distribution OUTPUT_NAME)
  configure_file(cmake/troupe-distribution.pc.in ${CMAKE_CURRENT_BINARY_DIR}/troupe-distribution.pc
                 @ONLY)
  install(FILES ${CMAKE_CURRENT_BINARY_DIR}/troupe-distribution.pc DESTINATION ${troupe_pc_dir})
endif()

# -- CPack: a Debian package (cd <build> && cpack -G DEB) ----------------------------------------
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME troupe)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "Troupe developers")
set(CPACK_DEBIAN_PACKAGE_SECTION libdevel)
# Headers and static libraries: what a program built against them needs at build time.
set(CPACK_DEBIAN_PACKAGE_DEPENDS
    "libcaf-dev (>= 0.17), libcaf-dev (<< 0.18), nlohmann-json3-dev (>= 3), libssl-dev, libcpp-httplib-dev (>= 0.11)")
include(CPack)
