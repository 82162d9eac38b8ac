# cmake -DPROG=... -DPYTHON=... -DCHECKER=script.py -P run_piped.cmake: PROG's stdout into CHECKER.
execute_process(COMMAND ${PROG} COMMAND ${PYTHON} ${CHECKER} RESULTS_VARIABLE rcs OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("${out}${err}")
foreach(rc IN LISTS rcs)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed: ${rcs}")
  endif()
endforeach()
