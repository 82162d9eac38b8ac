# Thread pool (run_blocking): workers and queue, and the hub-side completion ports.
list(APPEND GREENEV_SOURCES
  runtime/threadpool/threadpool.cpp
  runtime/threadpool/hub_threadpool.cpp
)
