# Interruption semantics and the held-lock rule (issues 7 and 14): the interposed pthread lock
# calls that count thread-level locks per fiber. Included by the top-level CMakeLists.txt.
list(APPEND GREENEV_SOURCES
  patches/pthread.cpp
  patches/signal.cpp
  runtime/io/hub_intr.cpp
)
