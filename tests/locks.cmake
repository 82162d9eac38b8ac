# The held-lock rule (issue 7, item 13): thread-level locks counted per fiber (patches/pthread.cpp),
# and the real lock users it protects (SQLite, a std::mutex across a socket read) as child programs.
find_package(SQLite3 QUIET)
greenev_test(locks_test locks_test.cpp)
if(SQLite3_FOUND)
  greenev_prog(held_lock progs/held_lock.cpp LIBS SQLite::SQLite3)
  target_compile_definitions(locks_test PRIVATE GREENEV_HAVE_SQLITE=1)
else()
  message(STATUS "greenev: SQLite not found; the shared-connection case of locks_test is skipped (scripts/setup.sh installs libsqlite3-dev)")
  greenev_prog(held_lock progs/held_lock.cpp)
  target_compile_definitions(held_lock PRIVATE GREENEV_NO_SQLITE=1)
endif()
add_dependencies(locks_test held_lock)
