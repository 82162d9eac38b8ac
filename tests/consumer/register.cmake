# tests/consumer/register.cmake — registers the `install_consumer` test. Included from
# tests/CMakeLists.txt:  include(${PROJECT_SOURCE_DIR}/tests/consumer/register.cmake)
#
# The test installs this build tree to a scratch prefix and builds tests/consumer against it with
# find_package(greenev) (shared and static) and with pkg-config. Sanitizer builds skip it: the
# consumer would need the same -fsanitize flags, and the default build already covers packaging.
if(NOT GREENEV_SANITIZE STREQUAL "")
  return()
endif()

add_test(NAME install_consumer
  COMMAND ${CMAKE_COMMAND}
    -DBUILD_DIR=${PROJECT_BINARY_DIR}
    -DSOURCE_DIR=${CMAKE_CURRENT_LIST_DIR}
    -DWORK_DIR=${PROJECT_BINARY_DIR}/install_consumer
    -DCMAKE_GENERATOR=${CMAKE_GENERATOR}
    -DCXX_COMPILER=${CMAKE_CXX_COMPILER}
    -DCONFIG=$<CONFIG>
    -P ${CMAKE_CURRENT_LIST_DIR}/run_consumer_test.cmake)
set_tests_properties(install_consumer PROPERTIES
  LABELS "packaging"
  TIMEOUT 600
  # Installs the whole tree and compiles three programs; don't run beside CPU-hungry tests.
  RUN_SERIAL TRUE)

# The quick pkg-config check (a few seconds): install, compile a tiny program with nothing but
# `pkg-config --cflags --libs greenev`, then against libgreenev.a (--static), and check that a
# fully -static link cannot produce a running binary. Skipped (77) if the install is impossible.
add_test(NAME pkg_config_consumer
  COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/pkg_config_test.sh ${PROJECT_BINARY_DIR})
set_tests_properties(pkg_config_consumer PROPERTIES
  LABELS "packaging" TIMEOUT 180 SKIP_RETURN_CODE 77
  ENVIRONMENT "CXX=${CMAKE_CXX_COMPILER}")
