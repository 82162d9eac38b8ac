# StreamServer (issue 9): listeners, accept fibers, connection fibers, graceful stop.
list(APPEND GREENEV_SOURCES
  runtime/server/listen.cpp
  runtime/server/server.cpp
  runtime/server/connection.cpp
)
