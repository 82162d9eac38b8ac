# Processes (issue 8): fork from fibers and the after-fork registry, subprocesses, the patched wait
# family, system()/popen(), stdio on cooperative fds. Everything that forks or patches runs as a
# child program. Not under TSan: its fiber annotations do not survive fork().
greenev_test(process_child_test process_child_test.cpp TIMEOUT 180)
greenev_prog(fork_fiber progs/fork_fiber.cpp LIBS dl)
add_dependencies(process_child_test fork_fiber)
greenev_test(subprocess_test subprocess_test.cpp TIMEOUT 120)
# The same suite on the polling fallback (kernels without pidfd_open).
add_test(NAME subprocess_poll_test COMMAND subprocess_test)
set_tests_properties(subprocess_poll_test PROPERTIES TIMEOUT 120 ENVIRONMENT GREENEV_PIDFD=0)
# Cached regular-file reads on the hub (RWF_NOWAIT) in patches/file.cpp.
greenev_test(file_nowait_test file_nowait_test.cpp)
# stdio on cooperative fds and popen/pclose (patches/stdio.cpp).
greenev_test(stdio_test stdio_test.cpp)
