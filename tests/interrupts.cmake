# Interruption semantics of the patched calls (issues 7 and 14, docs/interrupts.md): the Timeout
# contract, sleep(0), EMFILE back-off, kills that meet retry loops, EINTR on signals, SIGPIPE.
greenev_test(interrupts_test interrupts_test.cpp TIMEOUT 120)
greenev_prog(interrupts progs/interrupts.cpp)
add_dependencies(interrupts_test interrupts)
