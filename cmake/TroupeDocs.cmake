# The API reference: `cmake --build <build> --target docs` runs Doxygen over the public headers
# (detail/ is internal and left out) and writes <build>/docs/html/index.html. Warnings go to
# <build>/docs/doxygen-warnings.txt; CI counts them against docs/doxygen-warning-cap.
find_package(Doxygen QUIET)
if(NOT DOXYGEN_FOUND)
  return()
endif()

set(DOXYGEN_PROJECT_NAME Troupe)
set(DOXYGEN_PROJECT_BRIEF "${PROJECT_DESCRIPTION}")
set(DOXYGEN_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/docs)
set(DOXYGEN_FILE_PATTERNS *.hpp)
set(DOXYGEN_EXCLUDE_PATTERNS */detail/*)
set(DOXYGEN_EXCLUDE_SYMBOLS troupe::detail troupe::detail::*)
set(DOXYGEN_STRIP_FROM_PATH ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR}/generated/include)
set(DOXYGEN_STRIP_FROM_INC_PATH ${PROJECT_SOURCE_DIR}/include ${PROJECT_BINARY_DIR}/generated/include)
set(DOXYGEN_USE_MDFILE_AS_MAINPAGE ${PROJECT_SOURCE_DIR}/README.md)
set(DOXYGEN_EXTRACT_ALL NO)
set(DOXYGEN_WARN_IF_UNDOCUMENTED YES)
set(DOXYGEN_WARN_NO_PARAMDOC NO)
set(DOXYGEN_HAVE_DOT NO)
set(DOXYGEN_GENERATE_LATEX NO)
set(DOXYGEN_QUIET YES)
set(DOXYGEN_WARN_LOGFILE ${PROJECT_BINARY_DIR}/docs/doxygen-warnings.txt)

get_property(troupe_components GLOBAL PROPERTY TROUPE_COMPONENTS)
set(troupe_doc_inputs ${PROJECT_SOURCE_DIR}/include ${PROJECT_BINARY_DIR}/generated/include)
foreach(component IN LISTS troupe_components)
  get_target_property(component_dir ${component} SOURCE_DIR)
  list(APPEND troupe_doc_inputs ${component_dir}/include)
endforeach()
# The optional spdlog adapter is not a layer component, but its header is public API too.
if(TARGET troupe_spdlog)
  list(APPEND troupe_doc_inputs ${PROJECT_SOURCE_DIR}/spdlog/include)
endif()
doxygen_add_docs(docs ${troupe_doc_inputs} ${PROJECT_SOURCE_DIR}/README.md
  COMMENT "API reference: ${PROJECT_BINARY_DIR}/docs/html/index.html")
