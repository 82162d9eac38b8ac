"""tests/bench/http/summarize_http.py — medians of http_bench.sh's raw lines as Markdown tables,
with the ratios the targets are stated in (greenev vs nginx, raw epoll, Go; p99 vs nginx)."""
import re
import statistics
import sys
from collections import defaultdict


def ms(v):
    m = re.match(r"([\d.]+)(us|ms|s)$", v or "")
    if not m:
        return None
    return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]


def fields(line):
    return dict(kv.split("=", 1) for kv in line.split()[1:] if "=" in kv)


http = defaultdict(list)
kv = defaultdict(list)
idle = []
syscalls = []
notes = []
for line in open(sys.argv[1]):
    if line.startswith("HTTP "):
        f = fields(line)
        http[(f["impl"], int(f["conns"]))].append(f)
    elif line.startswith("KV "):
        f = fields(line)
        kv[(f["impl"], f["test"], int(f["P"]))].append(f)
    elif line.startswith("SYSCALLS "):
        syscalls.append(fields(line))
    elif line.startswith("IDLE "):
        idle.append(fields(line))
    elif line.startswith("NOTE "):
        notes.append(line[5:].strip())

order = ["greenev", "nginx", "go", "gevent", "raw_epoll", "hello_plain", "hello_conn"]
med = {}
user_med = {}
if http:
    print("### HTTP hello (wrk -t1, keep-alive; medians over rounds)\n")
    print("| server | conns | req/s | p99 | server CPU µs/req | of it user | vs nginx | errors |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    conns = sorted({c for _, c in http})
    impls = order + sorted({i for i, _ in http} - set(order))
    errors = {}
    for key, runs in http.items():
        p99s = [ms(r["p99"]) for r in runs if ms(r["p99"]) is not None]
        med[key] = (statistics.median(float(r["rps"]) for r in runs),
                    statistics.median(p99s) if p99s else None,
                    statistics.median(int(r["cpu_ticks"]) / int(r["tck"]) / max(1, int(r["requests"])) * 1e6
                                      for r in runs))
        users = [int(r["user_ticks"]) / int(r["tck"]) / max(1, int(r["requests"])) * 1e6 for r in runs if "user_ticks" in r]
        user_med[key] = statistics.median(users) if users else None
        errors[key] = sum(int(r["socket_errors"]) + int(r["non2xx"]) for r in runs)
    for c in conns:
        for impl in impls:
            if (impl, c) not in med:
                continue
            rps, p99, cpu = med[(impl, c)]
            user = user_med.get((impl, c))
            users = f"{user:.1f}" if user is not None else "—"
            base = med.get(("nginx", c))
            ratio = f"{rps / base[0]:.2f}×" if base and base[0] else "—"
            p99s = f"{p99:.2f} ms" if p99 is not None else "—"
            print(f"| {impl} | {c} | {rps:,.0f} | {p99s} | {cpu:.1f} | {users} | {ratio} | {errors[(impl, c)]} |")
    print("\n### Targets (greenev-http)\n")
    print("| conns | vs nginx (≥1.0) | vs raw epoll (≥0.85) | vs Go (≥2.0) | p99 vs nginx (≤1.5) |")
    print("|---:|---:|---:|---:|---:|")
    for c in conns:
        g = med.get(("greenev", c))
        if not g:
            continue

        def ratio(other, idx=0):
            o = med.get((other, c))
            if not o or not o[idx] or g[idx] is None:
                return "—"
            return f"{g[idx] / o[idx]:.2f}"

        print(f"| {c} | {ratio('nginx')} | {ratio('raw_epoll')} | {ratio('go')} | {ratio('nginx', 1)} |")

    # The runtime's own cost: the raw epoll server's exact work, one fiber per connection.
    if any(("hello_plain", c) in med or ("hello_conn", c) in med for c in conns):
        print("\n### Runtime overhead (same work as raw epoll, one fiber per connection)\n")
        print("| conns | hello_plain CPU vs raw epoll (≤1.1) | hello_conn CPU vs raw epoll (≤1.1) | greenev-http CPU vs Go |")
        print("|---:|---:|---:|---:|")
        for c in conns:
            e = med.get(("raw_epoll", c))

            def cpu(impl):
                m = med.get((impl, c))
                return f"{m[2] / e[2]:.2f}" if m and e and e[2] else "—"

            g, go = med.get(("greenev", c)), med.get(("go", c))
            vs_go = f"{go[2] / g[2]:.2f}× cheaper" if g and go and g[2] else "—"
            print(f"| {c} | {cpu('hello_plain')} | {cpu('hello_conn')} | {vs_go} |")

if kv:
    print("\n### KV (redis-benchmark -c 50; medians)\n")
    print("| server | test | pipeline | req/s | p99 ms | vs redis-server |")
    print("|---|---|---:|---:|---:|---:|")
    kmed = {}
    for key in sorted(kv, key=lambda k: (k[1], k[2], k[0] != "redis")):
        runs = kv[key]
        rps = statistics.median(float(r["rps"]) for r in runs)
        p99 = statistics.median(float(r["p99"]) for r in runs)
        kmed[key] = rps
        base = kmed.get(("redis", key[1], key[2]))
        print(f"| {key[0]} | {key[1]} | {key[2]} | {rps:,.0f} | {p99:.3f} | {rps / base:.2f}× |" if base
              else f"| {key[0]} | {key[1]} | {key[2]} | {rps:,.0f} | {p99:.3f} | — |")

if syscalls:
    print("\n### Syscalls per response write, steady state (strace -c window; counts only)\n")
    print("| server | conns | writes | epoll_ctl/write | read/write | epoll_wait/write |")
    print("|---|---:|---:|---:|---:|---:|")
    for f in syscalls:
        w = max(1, int(f["writes"]))
        print(f"| {f['impl']} | {f['conns']} | {int(f['writes']):,} | {int(f['epoll_ctl']) / w:.3f} | "
              f"{int(f['read']) / w:.2f} | {int(f['epoll_wait']) / w:.3f} |")

if idle:
    print("\n### Idle keep-alive connections\n")
    print("| server | connections | RSS growth | per connection |")
    print("|---|---:|---:|---:|")
    for f in idle:
        n = int(f["conns"])
        grow = int(f["rss_after_kib"]) - int(f["rss_before_kib"])
        print(f"| {f['impl']} | {f.get('open', n)} | {grow / 1024:.1f} MiB | {grow * 1024 / max(1, int(f.get('open', n))):,.0f} B |")

for n in notes:
    print(f"\nNote: {n}")
