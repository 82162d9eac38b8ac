# Launcher (issue 10): greenev-launch driven end to end by child-process tests (curl/wrk clients).
greenev_prog(launch_worker progs/launch_worker.cpp)
