# Name resolution on the thread pool (issue 4, patches/netdb.cpp). netdb_test links a resolver shim
# after greenev (support/slow_resolver.cpp: "slow-<name>" lookups take 150 ms, addrinfo lists are
# counted), so greenev's dlsym(RTLD_NEXT) reaches the shim and the shim reaches glibc.
add_library(greenev_test_slow_resolver SHARED support/slow_resolver.cpp)
greenev_test(netdb_test netdb_test.cpp LIBS greenev_test_slow_resolver)
target_link_options(netdb_test PRIVATE -Wl,--no-as-needed)
