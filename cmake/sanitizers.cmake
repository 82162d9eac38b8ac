# GREENEV_SANITIZE=address -> ASan+UBSan, =thread -> TSan. Applied to every target in the tree,
# so the same tests run under each configuration.
if(GREENEV_SANITIZE STREQUAL "address")
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
elseif(GREENEV_SANITIZE STREQUAL "thread")
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
elseif(NOT GREENEV_SANITIZE STREQUAL "")
  message(FATAL_ERROR "GREENEV_SANITIZE must be '', 'address' or 'thread'")
endif()
