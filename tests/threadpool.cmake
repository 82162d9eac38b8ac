# Thread pool tests (run_blocking, ThreadPool). The cross-thread ones carry the tsan label.
greenev_test(threadpool_test threadpool_test.cpp LABELS tsan)
greenev_test(threadpool_hubs_test threadpool_hubs_test.cpp LABELS tsan)
# fork and exit run as child programs; not under TSan: its fiber annotations do not survive fork().
greenev_test(threadpool_child_test threadpool_child_test.cpp TIMEOUT 180)

greenev_prog(threadpool_fork progs/threadpool_fork.cpp)
greenev_prog(threadpool_exit progs/threadpool_exit.cpp)
greenev_prog(threadpool_env_size progs/threadpool_env_size.cpp)
add_dependencies(threadpool_child_test threadpool_fork threadpool_exit threadpool_env_size)
