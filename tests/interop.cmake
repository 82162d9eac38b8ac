# Interop proof tests (issue 4, "Proof with real, unmodified libraries"): hiredis, libcurl's easy API
# and libpq, unmodified, from many fibers at once against servers the tests start themselves, and a
# -O2 -D_FORTIFY_SOURCE=2 client whose __read_chk/__recv_chk/__poll_chk must yield too. Each test
# checks wall time against the serial time and counts hub switches. Label: interop.
#   ctest -L interop --output-on-failure
#
# scripts/setup.sh installs every library and server these need (libhiredis-dev redis-server
# libcurl4-openssl-dev libpq-dev postgresql). A library missing at configure time drops its test
# with a notice; a missing server is a test failure (redis) or a logged skip (postgresql, which
# also needs root + a `postgres` user, or a non-root user, to create its throwaway cluster).
find_package(PkgConfig QUIET)

# The slow HTTP server the libcurl test talks to: plain threads, NOT linked with greenev.
add_executable(slow_http_server progs/slow_http_server.cpp)
set_target_properties(slow_http_server PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/progs)
target_link_libraries(slow_http_server PRIVATE Threads::Threads)

# --- hiredis -------------------------------------------------------------------------------------
set(_greenev_hiredis "")
if(PKG_CONFIG_FOUND)
  pkg_check_modules(GREENEV_HIREDIS QUIET IMPORTED_TARGET hiredis)
  if(GREENEV_HIREDIS_FOUND)
    set(_greenev_hiredis PkgConfig::GREENEV_HIREDIS)
  endif()
endif()
if(NOT _greenev_hiredis)
  find_path(GREENEV_HIREDIS_INCLUDE_DIR hiredis/hiredis.h)
  find_library(GREENEV_HIREDIS_LIBRARY hiredis)
  if(GREENEV_HIREDIS_INCLUDE_DIR AND GREENEV_HIREDIS_LIBRARY)
    add_library(greenev_interop_hiredis INTERFACE)
    target_include_directories(greenev_interop_hiredis INTERFACE ${GREENEV_HIREDIS_INCLUDE_DIR})
    target_link_libraries(greenev_interop_hiredis INTERFACE ${GREENEV_HIREDIS_LIBRARY})
    set(_greenev_hiredis greenev_interop_hiredis)
  endif()
endif()
if(_greenev_hiredis)
  greenev_test(interop_hiredis_test interop_hiredis_test.cpp LABELS interop TIMEOUT 60 LIBS ${_greenev_hiredis})
else()
  message(STATUS "greenev: hiredis not found; interop_hiredis_test not built (scripts/setup.sh installs libhiredis-dev)")
endif()

# --- libcurl -------------------------------------------------------------------------------------
find_package(CURL QUIET)
if(CURL_FOUND)
  greenev_test(interop_curl_test interop_curl_test.cpp LABELS interop TIMEOUT 60 LIBS CURL::libcurl)
  add_dependencies(interop_curl_test slow_http_server)
else()
  message(STATUS "greenev: libcurl not found; interop_curl_test not built (scripts/setup.sh installs libcurl4-openssl-dev)")
endif()

# --- libpq ---------------------------------------------------------------------------------------
find_package(PostgreSQL QUIET)
set(_greenev_pq "")
if(PostgreSQL_FOUND)
  set(_greenev_pq PostgreSQL::PostgreSQL)
elseif(PKG_CONFIG_FOUND)
  pkg_check_modules(GREENEV_LIBPQ QUIET IMPORTED_TARGET libpq)
  if(GREENEV_LIBPQ_FOUND)
    set(_greenev_pq PkgConfig::GREENEV_LIBPQ)
  endif()
endif()
if(_greenev_pq)
  greenev_test(interop_pq_test interop_pq_test.cpp LABELS interop TIMEOUT 60 LIBS ${_greenev_pq})
else()
  message(STATUS "greenev: libpq not found; interop_pq_test not built (scripts/setup.sh installs libpq-dev)")
endif()

# --- a fortified client --------------------------------------------------------------------------
# -O2 -D_FORTIFY_SOURCE=2 whatever the build type (fortification needs optimisation); the source
# refuses to compile without it. Built against the shared and against the static library.
foreach(_variant IN ITEMS shared static)
  if(_variant STREQUAL "shared")
    set(_prog fortify_client)
    greenev_prog(${_prog} progs/fortify_client.cpp)
  else()
    set(_prog fortify_client_static)
    greenev_prog(${_prog} progs/fortify_client.cpp STATIC)
  endif()
  target_compile_options(${_prog} PRIVATE -O2 -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=2)
endforeach()
greenev_test(interop_fortify_test interop_fortify_test.cpp LABELS interop TIMEOUT 60)
add_dependencies(interop_fortify_test fortify_client fortify_client_static)
