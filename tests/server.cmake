# StreamServer (issue 9): in-process behaviour, and child programs for what changes process-wide
# state (RLIMIT_NOFILE, systemd fds at fd 3, signals).
greenev_test(server_test server_test.cpp TIMEOUT 60)
greenev_test(server_child_test server_child_test.cpp TIMEOUT 90)
greenev_prog(server_prog progs/server_prog.cpp)
target_include_directories(server_prog PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/support)
add_dependencies(server_child_test server_prog)
