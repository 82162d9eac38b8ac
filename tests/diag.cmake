# Diagnostics (issue 11): monitor, dumps, patch self-test, metrics.
greenev_test(diag_test diag_test.cpp TIMEOUT 120)

# Child programs: -O0 -g so the functions the tests look for keep their frames and lines.
foreach(p diag_blocked diag_dump)
  greenev_prog(${p} progs/${p}.cpp)
  target_compile_options(${p} PRIVATE -O0 -g)
endforeach()
add_library(diag_unpatched_lib SHARED progs/diag_unpatched_lib.c)
set_target_properties(diag_unpatched_lib PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/progs)
greenev_prog(diag_patch_report progs/diag_patch_report.cpp LIBS diag_unpatched_lib)
greenev_prog(diag_metrics_print progs/diag_metrics_print.cpp)
add_dependencies(diag_test diag_blocked diag_dump diag_patch_report diag_metrics_print)

# The Prometheus reference parser (python3-prometheus-client) reads write_prometheus()'s output.
find_program(GREENEV_SYSTEM_PYTHON python3 PATHS /usr/bin NO_DEFAULT_PATH)
if(GREENEV_SYSTEM_PYTHON)
  execute_process(COMMAND ${GREENEV_SYSTEM_PYTHON} -c "import prometheus_client.parser"
                  RESULT_VARIABLE _greenev_promparser OUTPUT_QUIET ERROR_QUIET)
  if(_greenev_promparser EQUAL 0)
    add_test(NAME metrics_prometheus_parses_with_reference_parser
             COMMAND ${CMAKE_COMMAND} -DPROG=$<TARGET_FILE:diag_metrics_print> -DPYTHON=${GREENEV_SYSTEM_PYTHON}
                     -DCHECKER=${CMAKE_CURRENT_SOURCE_DIR}/support/check_prometheus.py
                     -P ${CMAKE_CURRENT_SOURCE_DIR}/support/run_piped.cmake)
    set_tests_properties(metrics_prometheus_parses_with_reference_parser PROPERTIES TIMEOUT 60)
  else()
    message(STATUS "diag: python3-prometheus-client missing, skipping the reference-parser test")
  endif()
endif()

# README's generated list of patched symbols must match the build's.
add_test(NAME readme_lists_patched_symbols
         COMMAND ${CMAKE_COMMAND} -DTXT=${GREENEV_PATCHLIST_TXT} -DREADME=${PROJECT_SOURCE_DIR}/README.md -DCHECK=1
                 -P ${PROJECT_SOURCE_DIR}/cmake/readme_patch_list.cmake)
