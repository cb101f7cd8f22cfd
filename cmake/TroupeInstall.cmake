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
  DESTINATION ${troupe_cmake_dir})
