# GREENEV_SANITIZE=address -> ASan+UBSan, =thread -> TSan. Applied to every target in the tree,
# so the same tests run under each configuration.
if(GREENEV_SANITIZE STREQUAL "address")
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
elseif(GREENEV_SANITIZE STREQUAL "thread")
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
  # TSan's start-up installs its deadly-signal handlers through `sigaction`, which resolves to our
  # patch before TSan's per-thread state exists: an instrumented prologue there crashes every
  # program. The patch holds only atomics and a dlsym'd pointer, so nothing is lost by leaving it
  # uninstrumented.
  set_source_files_properties(${PROJECT_SOURCE_DIR}/patches/signal.cpp PROPERTIES COMPILE_OPTIONS -fno-sanitize=thread)
elseif(NOT GREENEV_SANITIZE STREQUAL "")
  message(FATAL_ERROR "GREENEV_SANITIZE must be '', 'address' or 'thread'")
endif()
