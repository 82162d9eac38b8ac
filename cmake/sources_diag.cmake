# Diagnostics (issue 11): hub registry, metrics, blocked-hub monitor, fiber dumps, patch self-test.
# Included by the top-level CMakeLists.txt (runtime/diag/diagnostics.cpp is in its own list).
list(APPEND GREENEV_SOURCES
  runtime/diag/registry.cpp
  runtime/diag/metrics.cpp
  runtime/diag/stack_capture.cpp
  runtime/diag/syscalls.cpp
  runtime/diag/monitor.cpp
  runtime/diag/dump.cpp
  runtime/diag/dump_signal.cpp
  runtime/diag/patch_report.cpp
)

# The list of patched symbols is generated from the built patches/ objects (nm), so a new patch
# shows up in patches::report() and in the README with no hand-kept list. It is compiled into a
# separate object library added to both libraries once they exist (deferred to the end of this
# directory: the top-level file creates them after including this one).
set(GREENEV_PATCHLIST_DIR ${CMAKE_BINARY_DIR}/generated)
set(GREENEV_PATCHLIST_INC ${GREENEV_PATCHLIST_DIR}/greenev_patched_symbols.inc)
set(GREENEV_PATCHLIST_TXT ${GREENEV_PATCHLIST_DIR}/patched_symbols.txt)
function(greenev_diag_attach_patchlist)
  add_custom_command(
    OUTPUT ${GREENEV_PATCHLIST_INC} ${GREENEV_PATCHLIST_TXT}
    COMMAND ${CMAKE_COMMAND} -DNM=${CMAKE_NM} "-DOBJECTS=$<JOIN:$<TARGET_OBJECTS:greenev_objects>,|>"
            -DINC=${GREENEV_PATCHLIST_INC} -DTXT=${GREENEV_PATCHLIST_TXT}
            -P ${PROJECT_SOURCE_DIR}/cmake/gen_patched_symbols.cmake
    DEPENDS greenev_objects $<TARGET_OBJECTS:greenev_objects> ${PROJECT_SOURCE_DIR}/cmake/gen_patched_symbols.cmake
    COMMENT "Listing the patched libc symbols"
    VERBATIM)
  add_library(greenev_patchlist OBJECT ${PROJECT_SOURCE_DIR}/runtime/diag/patched_symbols.cpp ${GREENEV_PATCHLIST_INC})
  target_include_directories(greenev_patchlist PRIVATE ${GREENEV_PATCHLIST_DIR})
  foreach(t greenev_shared greenev_static)
    target_sources(${t} PRIVATE $<TARGET_OBJECTS:greenev_patchlist>)
  endforeach()
  # README's list of patched symbols: regenerate with `cmake --build <build> --target readme_patch_list`;
  # the test readme_lists_patched_symbols fails while it is stale.
  add_custom_target(readme_patch_list
    COMMAND ${CMAKE_COMMAND} -DTXT=${GREENEV_PATCHLIST_TXT} -DREADME=${PROJECT_SOURCE_DIR}/README.md
            -P ${PROJECT_SOURCE_DIR}/cmake/readme_patch_list.cmake
    DEPENDS ${GREENEV_PATCHLIST_TXT}
    VERBATIM)
endfunction()
cmake_language(DEFER CALL greenev_diag_attach_patchlist)
