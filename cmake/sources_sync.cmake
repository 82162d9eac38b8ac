# Coordination primitives (issue 3): event, locks, queues, pools, wait_any/wait_all.
list(APPEND GREENEV_SOURCES
  runtime/sync_common.cpp
  runtime/sync_event.cpp
  runtime/sync_lock.cpp
  runtime/sync_pool.cpp
  runtime/sync_wait.cpp
)
