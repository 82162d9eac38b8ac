# Core runtime tests: fibers, hub, timers, timeouts, signals, stacks.
greenev_test(fiber_join_test fiber_join_test.cpp)
greenev_test(fiber_kill_test fiber_kill_test.cpp)
greenev_test(timeout_test timeout_test.cpp)
greenev_test(sleep_test sleep_test.cpp)
greenev_test(fiber_local_test fiber_local_test.cpp)
greenev_test(cross_thread_test cross_thread_test.cpp LABELS tsan)
greenev_test(signal_test signal_test.cpp)
greenev_test(core_child_test core_child_test.cpp TIMEOUT 180)

greenev_prog(stack_overflow progs/stack_overflow.cpp)
greenev_prog(many_fibers progs/many_fibers.cpp)
greenev_prog(unjoined_exception progs/unjoined_exception.cpp)
greenev_prog(exit_with_live_fibers progs/exit_with_live_fibers.cpp)
greenev_prog(core_terminate progs/core_terminate.cpp)
greenev_prog(static_signal_handler progs/static_signal_handler.cpp)
greenev_prog(hub_emfile progs/hub_emfile.cpp)
add_dependencies(core_child_test stack_overflow many_fibers unjoined_exception exit_with_live_fibers
                 core_terminate static_signal_handler hub_emfile)
greenev_test(core_limits_test core_limits_test.cpp)
greenev_prog(fork_locks progs/fork_locks.cpp)
add_dependencies(core_child_test fork_locks)
# Ready-queue order: work-first spawns and wake-ups, yield's contract, the starvation bound.
greenev_test(scheduling_test scheduling_test.cpp)
# When a busy hub polls its loop: once per round of ready fibers, a timer never starved.
greenev_test(poll_policy_test poll_policy_test.cpp)
