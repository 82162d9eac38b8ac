# StreamServer (issue 9): in-process behaviour, and child programs for what changes process-wide
# state (RLIMIT_NOFILE, systemd fds at fd 3, signals).
greenev_test(server_test server_test.cpp TIMEOUT 60)
greenev_test(server_child_test server_child_test.cpp TIMEOUT 90)
greenev_prog(server_prog progs/server_prog.cpp)
target_include_directories(server_prog PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/support)
add_dependencies(server_child_test server_prog)

# greenev-http (the example program) against a corpus of hostile requests, as a child process.
if(TARGET greenev-http)
  greenev_test(http_corpus_test http_corpus_test.cpp TIMEOUT 120)
  target_compile_definitions(http_corpus_test PRIVATE GREENEV_HTTP_BIN="$<TARGET_FILE:greenev-http>")
  add_dependencies(http_corpus_test greenev-http)
endif()
