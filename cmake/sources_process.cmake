# Processes: fork and the after-fork registry, subprocesses, and their patches.
list(APPEND GREENEV_SOURCES
  runtime/core/hub_fork.cpp
  runtime/process/fork.cpp
  runtime/process/child_watch.cpp
  runtime/process/subprocess.cpp
  patches/process.cpp
  patches/stdio.cpp
)
