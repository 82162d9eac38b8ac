# Coordination primitives (issue 3): event, locks, queues, pools, wait_any/wait_all.
list(APPEND GREENEV_SOURCES
  runtime/sync/sync_common.cpp
  runtime/sync/sync_event.cpp
  runtime/sync/sync_lock.cpp
  runtime/sync/sync_pool.cpp
  runtime/sync/sync_wait.cpp
)
