# Embedding (issue 12, thread side): hubs on threads, cross-thread results and queues, waiting on
# thread-world objects, thread-confinement checks. Cross-thread suites carry LABELS tsan.
greenev_test(embed_hub_test embed_hub_test.cpp LABELS tsan)
greenev_test(embed_wait_test embed_wait_test.cpp LABELS tsan)
greenev_test(embed_queue_test embed_queue_test.cpp LABELS tsan)
greenev_test(embed_child_test embed_child_test.cpp)
greenev_prog(embed_confined progs/embed_confined.cpp)
target_compile_definitions(embed_confined PRIVATE GREENEV_CHECKS)  # checks on in every build type
# Loads libgreenev with dlopen instead of linking it (initial-exec TLS in a late-loaded library).
add_executable(late_dlopen progs/late_dlopen.cpp)
set_target_properties(late_dlopen PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/progs)
target_compile_definitions(late_dlopen PRIVATE GREENEV_SHARED_PATH="$<TARGET_FILE:greenev_shared>")
target_link_libraries(late_dlopen PRIVATE ${CMAKE_DL_LIBS} Threads::Threads)
add_dependencies(embed_child_test embed_confined late_dlopen greenev_shared)
