"""Output protocol and key=value argument helpers shared by the gevent peers
(same conventions as tests/bench/bench_common.h)."""
import sys
import time


def arg(name, default=None):
    for a in sys.argv[1:]:
        if a.startswith(name + "="):
            return a[len(name) + 1:]
    return default


def iarg(name, default):
    v = arg(name)
    return int(v, 0) if v is not None else default


def selected(bench):
    v = arg("only")
    return v is None or bench in v.split(",")


def result(bench, impl, value, unit):
    print("RESULT %s.%s %.6g %s" % (bench, impl, value, unit), flush=True)


now_ns = time.perf_counter_ns
