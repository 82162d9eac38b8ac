# Launcher (issue 10): greenev-launch driven end to end by child-process tests (curl/wrk clients).
greenev_prog(launch_worker progs/launch_worker.cpp)
greenev_test(launcher_test launcher_test.cpp TIMEOUT 400 LABELS launcher)
target_compile_definitions(launcher_test PRIVATE GREENEV_LAUNCHER="$<TARGET_FILE:greenev-launch>")
add_dependencies(launcher_test greenev-launch launch_worker)
