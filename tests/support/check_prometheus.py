"""Parses Prometheus text exposition from stdin with the reference parser (prometheus_client) and
checks greenev's families: types, histogram buckets cumulative with +Inf equal to _count."""
import sys

from prometheus_client.parser import text_string_to_metric_families

text = sys.stdin.read()
families = {f.name: f for f in text_string_to_metric_families(text)}
expected = {
    "greenev_hubs": "gauge",
    "greenev_context_switches": "counter",
    "greenev_fibers_spawned": "counter",
    "greenev_fibers_alive": "gauge",
    "greenev_loop_iterations": "counter",
    "greenev_loop_seconds": "counter",
    "greenev_run_seconds": "counter",
    "greenev_watchers_active": "gauge",
    "greenev_blocked_episodes": "counter",
    "greenev_timer_lag_seconds": "histogram",
    "greenev_threadpool_queued_jobs": "gauge",
    "greenev_threadpool_wait_seconds": "histogram",
}
for name, typ in expected.items():
    if name not in families:
        sys.exit(f"missing family {name}; got {sorted(families)}")
    if families[name].type != typ:
        sys.exit(f"{name}: type {families[name].type}, want {typ}")
for name in ("greenev_timer_lag_seconds", "greenev_threadpool_wait_seconds"):
    samples = families[name].samples
    buckets = [s for s in samples if s.name.endswith("_bucket")]
    values = [s.value for s in buckets]
    if values != sorted(values):
        sys.exit(f"{name}: buckets not cumulative: {values}")
    if buckets[-1].labels["le"] != "+Inf":
        sys.exit(f"{name}: last bucket is not +Inf")
    count = [s.value for s in samples if s.name.endswith("_count")][0]
    if count != values[-1]:
        sys.exit(f"{name}: _count {count} != +Inf bucket {values[-1]}")
if families["greenev_timer_lag_seconds"].samples[-1].value < 5:
    sys.exit("timer lag histogram did not count the 5 sleeps")
if families["greenev_context_switches"].samples[0].value <= 0:
    sys.exit("no context switches counted")
print(f"ok: {len(families)} families")
