# Processes (issue 8): fork from fibers and the after-fork registry, subprocesses, the patched wait
# family, system()/popen(), stdio on cooperative fds. Everything that forks or patches runs as a
# child program. Not under TSan: its fiber annotations do not survive fork().
greenev_test(process_child_test process_child_test.cpp TIMEOUT 180)
greenev_prog(fork_fiber progs/fork_fiber.cpp LIBS dl)
add_dependencies(process_child_test fork_fiber)
