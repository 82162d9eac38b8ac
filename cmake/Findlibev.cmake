# Findlibev.cmake — find libev (Debian ships no CMake or pkg-config file for it).
#
# Defines the imported target libev::libev and LIBEV_INCLUDE_DIR / LIBEV_LIBRARY. Used by the build
# (cmake/dependencies.cmake) and installed beside greenevConfig.cmake, which calls it again through
# find_dependency(libev) so that the exported targets find libev on the consumer's machine rather
# than carrying the build machine's absolute path.
find_path(LIBEV_INCLUDE_DIR ev.h)
find_library(LIBEV_LIBRARY ev)

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(libev REQUIRED_VARS LIBEV_LIBRARY LIBEV_INCLUDE_DIR)
mark_as_advanced(LIBEV_INCLUDE_DIR LIBEV_LIBRARY)

if(libev_FOUND AND NOT TARGET libev::libev)
  add_library(libev::libev UNKNOWN IMPORTED)
  set_target_properties(libev::libev PROPERTIES
    IMPORTED_LOCATION "${LIBEV_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${LIBEV_INCLUDE_DIR}")
endif()
