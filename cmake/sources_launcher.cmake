# The launcher (issue 10): the supervising master shared by the library's launch() and the
# greenev-launch CLI, and the worker-side heartbeat responder. Included by the top CMakeLists.txt.
list(APPEND GREENEV_SOURCES
  runtime/launcher/hub_heartbeat.cpp
  runtime/launcher/sockets.cpp
  runtime/launcher/system.cpp
  runtime/launcher/master.cpp
  runtime/launcher/master_ops.cpp
  runtime/launcher/master_metrics.cpp
  runtime/launcher/exec_spawn.cpp
  runtime/launcher/control_client.cpp
  runtime/launcher/launch.cpp
)

# The CLI links the static library: it uses the master's internal classes (hidden in the .so)
# and stays a self-contained binary.
include(GNUInstallDirs)
find_package(CLI11 CONFIG QUIET)
add_executable(greenev-launch runtime/launcher/cli.cpp)
target_include_directories(greenev-launch PRIVATE ${PROJECT_SOURCE_DIR}/runtime)
target_compile_options(greenev-launch PRIVATE -Wall -Wextra)
target_link_libraries(greenev-launch PRIVATE greenev_static)
if(TARGET CLI11::CLI11)
  target_link_libraries(greenev-launch PRIVATE CLI11::CLI11)
endif()
install(TARGETS greenev-launch RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
