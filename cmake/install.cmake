# cmake/install.cmake — `cmake --install` rules: libraries, headers, CMake package, pkg-config file.
#
# Installed layout (GNUInstallDirs):
#   lib/libgreenev.so{,.0,.0.1.0}, lib/libgreenev.a
#   include/greenev/**.hpp
#   lib/cmake/greenev/{greenevConfig,greenevConfigVersion,greenevTargets*,Findlibev}.cmake
#   lib/pkgconfig/greenev.pc
#   share/doc/greenev/{README.md, docs/*.md, examples/**}  (README links keep working)
#
# The export set holds greenev_shared (greenev::greenev), greenev_static (greenev::greenev_static)
# and the INTERFACE target greenev_deps (greenev::greenev_deps) that both link. greenev_deps only
# names imported targets (Boost::context, libev::libev, Threads::Threads) plus `dl`, so the package
# stays relocatable: greenevConfig.cmake finds those packages again with find_dependency() instead
# of baking in the build machine's paths.
#
# greenev.pc is written at install time, from the prefix actually installed to
# (`cmake --install build --prefix /opt/x` works without reconfiguring).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(GREENEV_CMAKE_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/greenev")

install(TARGETS greenev_shared greenev_static greenev_deps
  EXPORT greenevTargets
  LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}"
  ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}"
  RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}"
  INCLUDES DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")

install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/greenev"
  DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}"
  FILES_MATCHING PATTERN "*.hpp" PATTERN "*.h")

install(EXPORT greenevTargets
  NAMESPACE greenev::
  FILE greenevTargets.cmake
  DESTINATION "${GREENEV_CMAKE_DIR}")

configure_package_config_file(
  "${CMAKE_CURRENT_LIST_DIR}/greenevConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/greenevConfig.cmake"
  INSTALL_DESTINATION "${GREENEV_CMAKE_DIR}")
# 0.x: minor versions may break the API, so only the same major.minor is compatible.
write_basic_package_version_file(
  "${PROJECT_BINARY_DIR}/greenevConfigVersion.cmake"
  VERSION "${PROJECT_VERSION}"
  COMPATIBILITY SameMinorVersion)
install(FILES
  "${PROJECT_BINARY_DIR}/greenevConfig.cmake"
  "${PROJECT_BINARY_DIR}/greenevConfigVersion.cmake"
  "${CMAKE_CURRENT_LIST_DIR}/Findlibev.cmake"
  DESTINATION "${GREENEV_CMAKE_DIR}")

# pkg-config: generated when installing, so it names the prefix really installed to.
foreach(_kind LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${_kind}}")
    set(_greenev_pc_${_kind} "${CMAKE_INSTALL_${_kind}}")
  else()
    set(_greenev_pc_${_kind} "\${prefix}/${CMAKE_INSTALL_${_kind}}")
  endif()
endforeach()
install(CODE "
  set(PROJECT_VERSION \"${PROJECT_VERSION}\")
  set(GREENEV_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  set(GREENEV_PC_LIBDIR [[${_greenev_pc_LIBDIR}]])
  set(GREENEV_PC_INCLUDEDIR [[${_greenev_pc_INCLUDEDIR}]])
  configure_file([[${CMAKE_CURRENT_LIST_DIR}/greenev.pc.in]] [[${PROJECT_BINARY_DIR}/greenev.pc]] @ONLY)
")
install(FILES "${PROJECT_BINARY_DIR}/greenev.pc" DESTINATION "${CMAKE_INSTALL_LIBDIR}/pkgconfig")

# Documentation and example sources: share/doc/greenev/{README.md, docs/, examples/}, the
# repository's layout, so README's relative links still work there.
# The examples are installed as reading material (their CMakeLists build them inside this tree;
# a user builds one against the installed library with the pkg-config line in README).
install(FILES "${PROJECT_SOURCE_DIR}/README.md" DESTINATION "${CMAKE_INSTALL_DOCDIR}")
install(DIRECTORY "${PROJECT_SOURCE_DIR}/docs/" DESTINATION "${CMAKE_INSTALL_DOCDIR}/docs"
  FILES_MATCHING PATTERN "*.md")
install(DIRECTORY "${PROJECT_SOURCE_DIR}/examples/" DESTINATION "${CMAKE_INSTALL_DOCDIR}/examples"
  FILES_MATCHING PATTERN "*.cpp" PATTERN "*.hpp" PATTERN "*.md" PATTERN "*.service" PATTERN "*.socket")
