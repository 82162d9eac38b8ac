# cmake -DTXT=patched_symbols.txt -DREADME=README.md [-DCHECK=1] -P readme_patch_list.cmake
# Writes two generated lists into README.md, each between its two marker lines, or with CHECK=1
# fails when either differs from what the build and the sources say:
#   * the patched symbols (TXT, generated from the built patches/ objects);
#   * the blocking libc calls greenev does NOT patch: the hand-kept kBlocking list of
#     runtime/diag/patch_report.cpp (what GREENEV_PATCH_REPORT flags) minus the patched symbols.
# Rejected: a hand-written README list (it went stale as patches landed).
cmake_minimum_required(VERSION 3.25)  # IN_LIST (script mode starts with old policies)
file(STRINGS "${TXT}" names)
list(LENGTH names count)
get_filename_component(root "${README}" DIRECTORY)
file(READ "${root}/runtime/diag/patch_report.cpp" report_src)
string(REGEX MATCH "kBlocking\\[\\] = {[^}]*}" blocking_block "${report_src}")
if(NOT blocking_block)
  message(FATAL_ERROR "readme_patch_list: no kBlocking list in runtime/diag/patch_report.cpp")
endif()
string(REGEX REPLACE "//[^\n]*" "" blocking_block "${blocking_block}")  # drop the comments
string(REGEX MATCHALL "\"[A-Za-z0-9_]+\"" blocking "${blocking_block}")
set(unpatched "")
foreach(q IN LISTS blocking)
  string(REPLACE "\"" "" n "${q}")
  if(NOT n IN_LIST names)
    list(APPEND unpatched "${n}")
  endif()
endforeach()
list(REMOVE_DUPLICATES unpatched)
list(SORT unpatched)
list(LENGTH unpatched ucount)

set(readme_changed FALSE)
file(READ "${README}" readme)

# update_block(<begin marker> <end marker> <block text> <what>)
function(update_block begin_marker end_marker block what)
  string(FIND "${readme}" "${begin_marker}" b)
  string(FIND "${readme}" "${end_marker}" e)
  if(b EQUAL -1 OR e EQUAL -1 OR e LESS b)
    message(FATAL_ERROR "README.md lacks the ${what} markers:\n${begin_marker}\n${end_marker}")
  endif()
  string(LENGTH "${begin_marker}" blen)
  math(EXPR start "${b} + ${blen}")
  string(SUBSTRING "${readme}" 0 ${start} head)
  string(SUBSTRING "${readme}" ${e} -1 tail)
  math(EXPR mid_len "${e} - ${start}")
  string(SUBSTRING "${readme}" ${start} ${mid_len} current)
  set(wanted "\n${block}\n")
  if(NOT current STREQUAL wanted)
    if(CHECK)
      message(FATAL_ERROR "README.md's list of ${what} is stale: run\n  cmake --build <build> --target readme_patch_list")
    endif()
    set(readme "${head}${wanted}${tail}" PARENT_SCOPE)
    set(readme_changed TRUE PARENT_SCOPE)
    message(STATUS "README.md: list of ${what} updated")
  endif()
endfunction()

set(block "${count} symbols, generated from the built patches/ objects:\n\n")
foreach(n IN LISTS names)
  string(APPEND block "`${n}` ")
endforeach()
string(STRIP "${block}" block)
update_block("<!-- BEGIN generated: patched symbols (cmake --build <build> --target readme_patch_list) -->"
  "<!-- END generated: patched symbols -->" "${block}" "patched symbols")

set(block "${ucount} calls, generated from runtime/diag/patch_report.cpp minus the patched symbols:\n\n")
foreach(n IN LISTS unpatched)
  string(APPEND block "`${n}` ")
endforeach()
string(STRIP "${block}" block)
update_block("<!-- BEGIN generated: blocking calls not patched -->"
  "<!-- END generated: blocking calls not patched -->" "${block}" "blocking calls not patched")

if(CHECK)
  message(STATUS "README.md lists the ${count} patched symbols and the ${ucount} unpatched blocking calls")
elseif(readme_changed)
  file(WRITE "${README}" "${readme}")
endif()
