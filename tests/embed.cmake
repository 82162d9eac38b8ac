# Embedding (issue 12, thread side): hubs on threads, cross-thread results and queues, waiting on
# thread-world objects, thread-confinement checks. Cross-thread suites carry LABELS tsan.
greenev_test(embed_hub_test embed_hub_test.cpp LABELS tsan)
greenev_test(embed_wait_test embed_wait_test.cpp LABELS tsan)
greenev_test(embed_queue_test embed_queue_test.cpp LABELS tsan)
greenev_test(embed_child_test embed_child_test.cpp)
greenev_prog(embed_confined progs/embed_confined.cpp)
target_compile_definitions(embed_confined PRIVATE GREENEV_CHECKS)  # checks on in every build type
add_dependencies(embed_child_test embed_confined)
