# Coordination primitives (issue 3): one executable per area; cross-thread ones also run under TSan.
greenev_test(sync_event_test sync_event_test.cpp)
greenev_test(sync_lock_test sync_lock_test.cpp)
greenev_test(sync_queue_test sync_queue_test.cpp)
greenev_test(sync_pool_test sync_pool_test.cpp)
greenev_test(sync_wait_test sync_wait_test.cpp)
greenev_test(sync_cross_thread_test sync_cross_thread_test.cpp LABELS tsan)
greenev_test(sync_limits_test sync_limits_test.cpp LABELS tsan)
greenev_test(sync_parity_test sync_parity_test.cpp LABELS tsan)  # ThreadPool::spawn crosses threads
