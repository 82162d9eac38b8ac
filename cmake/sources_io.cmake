# Cooperative I/O (issue 4): the fd table and watchers (runtime/) and the interposed libc calls
# (patches/, one file per libc family). Included by the top-level CMakeLists.txt.
list(APPEND GREENEV_SOURCES
  runtime/io/io.cpp
  runtime/io/fd_table.cpp
  runtime/io/hub_io.cpp
  patches/socket.cpp
  patches/unistd.cpp
  patches/poll.cpp
  patches/select.cpp
  patches/epoll.cpp
  patches/time.cpp
  patches/fcntl.cpp
  patches/fortify.cpp
  patches/netdb.cpp
  patches/file.cpp
)
