# Third-party dependencies, all from Debian packages (scripts/setup.sh installs them).
#
# Everything the library links against is found through imported targets (Boost::context,
# libev::libev, Threads::Threads) so that greenev_deps can be exported as is: the installed
# greenevConfig.cmake re-finds the same packages on the consumer's machine (cmake/install.cmake).
list(APPEND CMAKE_MODULE_PATH "${CMAKE_CURRENT_LIST_DIR}")
set(GREENEV_BOOST_MIN_VERSION 1.74)   # also required by the installed greenevConfig.cmake
# stacktrace_backtrace: Boost.Stacktrace with Debian's libbacktrace built in (fiber dumps, runtime/diag).
find_package(Boost ${GREENEV_BOOST_MIN_VERSION} REQUIRED COMPONENTS context stacktrace_backtrace)
find_package(Threads REQUIRED)
find_package(libev REQUIRED)   # cmake/Findlibev.cmake; also sets LIBEV_INCLUDE_DIR, LIBEV_LIBRARY

# One interface target carrying everything the library links against, and the language level its
# public headers need (so consumers of the installed package get C++20 too).
add_library(greenev_deps INTERFACE)
target_link_libraries(greenev_deps INTERFACE Boost::context Boost::stacktrace_backtrace libev::libev Threads::Threads ${CMAKE_DL_LIBS})
target_compile_features(greenev_deps INTERFACE cxx_std_20)
