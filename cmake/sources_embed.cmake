# Embedding (issue 12, thread side): HubHandle posting, HubThread / run(), cross-thread queue,
# waiting on futures and threads, thread-confinement checks.
list(APPEND GREENEV_SOURCES
  runtime/core/hub_handle.cpp
  runtime/embed/hub_thread.cpp
  runtime/embed/thread_wait.cpp
  runtime/embed/thread_queue.cpp
  runtime/embed/confined.cpp
)
