# Embedding (issue 12, thread side): hubs on threads, cross-thread results and queues, waiting on
# thread-world objects, thread-confinement checks. Cross-thread suites carry LABELS tsan.
greenev_test(embed_hub_test embed_hub_test.cpp LABELS tsan)
greenev_test(embed_wait_test embed_wait_test.cpp LABELS tsan)
greenev_test(embed_queue_test embed_queue_test.cpp LABELS tsan)
