# Interruption semantics of the patched calls (issues 7 and 14, docs/interrupts.md): the Timeout
# contract, sleep(0), EMFILE back-off, kills that meet retry loops, EINTR on signals, SIGPIPE.
greenev_test(interrupts_test interrupts_test.cpp TIMEOUT 120)
greenev_prog(interrupts progs/interrupts.cpp)
add_dependencies(interrupts_test interrupts)

# What OpenSSL returns when a Timeout or kill reaches SSL_connect (the hiredis, libcurl and libpq
# cases are in their interop_*_test.cpp). Label interop, as those.
find_package(OpenSSL QUIET)
if(OpenSSL_FOUND)
  greenev_test(interop_openssl_test interop_openssl_test.cpp LABELS interop TIMEOUT 60 LIBS OpenSSL::SSL)
else()
  message(STATUS "greenev: OpenSSL not found; interop_openssl_test not built (scripts/setup.sh installs libssl-dev)")
endif()
