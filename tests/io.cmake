# Cooperative I/O and patched libc calls (issue 4): in-process edge cases, and child programs for
# what touches process-wide state (signals, static linking, GREENEV_PATCHES).
greenev_test(io_test io_test.cpp)
greenev_test(io_child_test io_child_test.cpp TIMEOUT 180)

greenev_prog(io_sigpipe progs/io_sigpipe.cpp)
greenev_prog(io_signal_storm progs/io_signal_storm.cpp)
greenev_prog(io_static progs/io_static.cpp STATIC)
greenev_prog(io_patches_off progs/io_patches_off.cpp)
add_dependencies(io_child_test io_sigpipe io_signal_storm io_static io_patches_off)

# The fd table's state machine and the socket/fd POSIX semantics (issues 7, 8, 14): child cases.
greenev_test(fd_test fd_test.cpp TIMEOUT 240)
greenev_prog(fd_cases progs/fd_cases.cpp)
add_dependencies(fd_test fd_cases)
