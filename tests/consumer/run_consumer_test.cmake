# tests/consumer/run_consumer_test.cmake — does an installed greenev work for an outside project?
#
#   cmake -DBUILD_DIR=<greenev build> [-DSOURCE_DIR=<this dir>] [-DWORK_DIR=<scratch>]
#         [-DCMAKE_GENERATOR=...] [-DCXX_COMPILER=c++] [-DCONFIG=RelWithDebInfo]
#         -P run_consumer_test.cmake
#
# 1. `cmake --install BUILD_DIR --prefix WORK_DIR/prefix` (a scratch prefix, emptied first);
# 2. configure, build and run tests/consumer with find_package(greenev): once against
#    greenev::greenev (shared; run with LD_LIBRARY_PATH) and once against greenev::greenev_static;
# 3. compile main.cpp by hand with `pkg-config --cflags --libs greenev` and run it.
# Any failing step stops the script with FATAL_ERROR, which fails the ctest test.
cmake_minimum_required(VERSION 3.25)

if(NOT BUILD_DIR)
  message(FATAL_ERROR "run_consumer_test: pass -DBUILD_DIR=<greenev build directory>")
endif()
if(NOT SOURCE_DIR)
  set(SOURCE_DIR "${CMAKE_CURRENT_LIST_DIR}")
endif()
if(NOT WORK_DIR)
  set(WORK_DIR "${BUILD_DIR}/install_consumer")
endif()
if(NOT CXX_COMPILER)
  set(CXX_COMPILER c++)
endif()
set(prefix "${WORK_DIR}/prefix")

# run(<step> COMMAND...): run a command, echo its output, stop on failure.
function(run step)
  string(JOIN " " shown ${ARGN})
  message(STATUS "[${step}] ${shown}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "[${step}] failed (${rc}):\n${out}")
  endif()
endfunction()

file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")

# --- 1. install --------------------------------------------------------------------------------
set(install_args --install "${BUILD_DIR}" --prefix "${prefix}")
if(CONFIG)
  list(APPEND install_args --config "${CONFIG}")
endif()
run(install "${CMAKE_COMMAND}" ${install_args})

# The installed tree must not point back into the build or source tree.
file(GLOB_RECURSE cmake_files "${prefix}/*.cmake" "${prefix}/*.pc")
get_filename_component(repo_root "${SOURCE_DIR}/../.." ABSOLUTE)
foreach(f IN LISTS cmake_files)
  file(READ "${f}" text)
  string(REPLACE "${prefix}" "<prefix>" text "${text}")   # the scratch prefix may lie in BUILD_DIR
  foreach(dir "${BUILD_DIR}" "${repo_root}/include" "${repo_root}/runtime")
    string(FIND "${text}" "${dir}" at)
    if(NOT at EQUAL -1)
      message(FATAL_ERROR "[install] ${f} refers to ${dir}")
    endif()
  endforeach()
endforeach()

file(GLOB_RECURSE libdir_probe "${prefix}/libgreenev.so")
if(NOT libdir_probe)
  message(FATAL_ERROR "[install] no libgreenev.so under ${prefix}")
endif()
list(GET libdir_probe 0 libdir_probe)
get_filename_component(libdir "${libdir_probe}" DIRECTORY)

# --- 2. find_package(greenev): shared and static ------------------------------------------------
foreach(variant shared static)
  set(bdir "${WORK_DIR}/cmake-${variant}")
  if(variant STREQUAL "static")
    set(static ON)
  else()
    set(static OFF)
  endif()
  set(configure_args -S "${SOURCE_DIR}" -B "${bdir}"
    "-DCMAKE_PREFIX_PATH=${prefix}" "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}"
    -DCMAKE_BUILD_TYPE=Release "-DGREENEV_CONSUMER_STATIC=${static}")
  if(CMAKE_GENERATOR)
    list(APPEND configure_args -G "${CMAKE_GENERATOR}")
  endif()
  run(configure-${variant} "${CMAKE_COMMAND}" ${configure_args})
  run(build-${variant} "${CMAKE_COMMAND}" --build "${bdir}")
  run(run-${variant} "${CMAKE_COMMAND}" -E env "LD_LIBRARY_PATH=${libdir}" "${bdir}/consumer")
endforeach()

# The static consumer must not need libgreenev.so at run time.
execute_process(COMMAND ldd "${WORK_DIR}/cmake-static/consumer" OUTPUT_VARIABLE ldd_out ERROR_QUIET)
if(ldd_out MATCHES "libgreenev")
  message(FATAL_ERROR "[static] consumer links libgreenev.so:\n${ldd_out}")
endif()

# --- 3. pkg-config -----------------------------------------------------------------------------
find_program(PKG_CONFIG NAMES pkg-config pkgconf REQUIRED)
set(ENV{PKG_CONFIG_PATH} "${libdir}/pkgconfig")
execute_process(COMMAND "${PKG_CONFIG}" --cflags --libs greenev
  RESULT_VARIABLE rc OUTPUT_VARIABLE pc_flags ERROR_VARIABLE pc_err OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "[pkg-config] pkg-config --cflags --libs greenev failed:\n${pc_err}")
endif()
separate_arguments(pc_flags UNIX_COMMAND "${pc_flags}")
run(build-pkg-config "${CXX_COMPILER}" "${SOURCE_DIR}/main.cpp" -o "${WORK_DIR}/consumer-pkg-config"
  ${pc_flags})
run(run-pkg-config "${CMAKE_COMMAND}" -E env "LD_LIBRARY_PATH=${libdir}" "${WORK_DIR}/consumer-pkg-config")

message(STATUS "install_consumer: shared, static and pkg-config consumers all ran and returned 0")
