#!/usr/bin/env python3
"""Summarize a bench-results.txt written by run.sh into the comparison table.

usage: summarize.py BUILD_DIR/bench-results.txt

Input lines:  round=<r> RESULT <bench>.<impl> <value|FAIL> <unit>    and    NOTE <text>
Table: bench | impl | median | unit | n | min | max | ratio, where ratio = median / median of the
reference: greenev, except the floors (FLOOR below): raw Boost.Context for switch_*, the eventfd
round trip for thread_roundtrip, the in-process eventfd floor for run_blocking(_samecpu), the raw syscall for patched_read. Lower is better,
except for *_per_s units (throughput) where higher is better.
"""
import re
import statistics
import sys

# Known benches, in display order; anything else is appended alphabetically.
ORDER = [
    "switch_pair", "switch_ring1000", "spawn_join_seq", "spawn_join_batch",
    "idle_rss_100k", "idle_rss_1m", "skynet_ms", "skynet_rss", "skynet_chan_ms", "skynet_chan_rss",
    "event_pingpong", "queue_spsc", "thread_roundtrip", "run_blocking", "run_blocking_samecpu", "run_blocking_x8",
    "patched_read",
]
# bench -> (bench, impl) of its reference when that is not <bench>.greenev: the floors.
FLOOR = {
    "switch_pair": ("switch_pair", "boost_context"),
    "switch_ring1000": ("switch_ring1000", "boost_context"),
    "thread_roundtrip": ("thread_roundtrip", "eventfd"),
    "run_blocking": ("run_blocking", "eventfd_floor"),
    "run_blocking_samecpu": ("run_blocking_samecpu", "eventfd_floor"),
    "patched_read": ("patched_read", "raw"),
}
# Benches greenev is expected to report (a missing greenev row is shown as "not run").
GREENEV_EXPECTED = set(ORDER) - {"thread_roundtrip", "run_blocking", "run_blocking_samecpu", "run_blocking_x8", "patched_read"}


def ref_of(bench):
    return FLOOR.get(bench, (bench, "greenev"))


def fmt(v):
    if v is None:
        return "-"
    a = abs(v)
    if a >= 1e6:
        return "%.3g" % v if a < 1e9 else "%.3e" % v
    if a >= 100:
        return "%.0f" % v
    if a >= 10:
        return "%.1f" % v
    return "%.2f" % v


def main(path):
    vals = {}       # (bench, impl) -> list of floats
    fails = {}      # (bench, impl) -> count
    units = {}      # (bench, impl) -> unit
    seen = []       # (bench, impl) in first-seen order
    notes = []
    rounds = set()
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            m = re.match(r"round=(\d+) RESULT (\S+) (\S+) (\S+)", line)
            if m:
                rnd, key, value, unit = m.groups()
                rounds.add(int(rnd))
                bench, _, impl = key.partition(".")
                impl = impl or "?"
                k = (bench, impl)
                if k not in units:
                    seen.append(k)
                    units[k] = unit
                try:
                    vals.setdefault(k, []).append(float(value))
                except ValueError:
                    fails[k] = fails.get(k, 0) + 1
                continue
            if line.startswith("NOTE "):
                if line[5:] not in notes:
                    notes.append(line[5:])

    benches = []
    for b, _ in seen:
        if b not in benches:
            benches.append(b)
    benches.sort(key=lambda b: (ORDER.index(b) if b in ORDER else len(ORDER), b))

    rows = []
    for b in benches:
        impls = [i for (bb, i) in seen if bb == b]
        refb, ref = ref_of(b)
        expected = b in GREENEV_EXPECTED or b.startswith("echo_")
        first = [x for x in ("greenev", ref) if x in impls or (x == "greenev" and expected)]
        rest = [i for i in impls if i not in first]
        refvals = vals.get((refb, ref))
        refmed = statistics.median(refvals) if refvals else None
        unit_b = next((units[(b, i)] for i in impls if (b, i) in units), "")
        for i in dict.fromkeys(first + rest):
            k = (b, i)
            v = vals.get(k, [])
            nf = fails.get(k, 0)
            if not v and not nf:
                rows.append((b, i, "not run", unit_b, "0", "-", "-", "-"))
                continue
            if not v:
                rows.append((b, i, "FAIL", units[k], "%dF" % nf, "-", "-", "-"))
                continue
            med = statistics.median(v)
            n = str(len(v)) + ("+%dF" % nf if nf else "")
            if (b, i) == (refb, ref):
                ratio = "1.00 (ref)"
            elif refmed:
                ratio = "%.2fx" % (med / refmed) + ("" if refb == b else " (vs %s.%s)" % (refb, ref))
            else:
                ratio = "-"
            rows.append((b, i, fmt(med), units[k], n, fmt(min(v)), fmt(max(v)), ratio))

    head = ("bench", "impl", "median", "unit", "n", "min", "max", "ratio")
    w = [max(len(str(r[c])) for r in rows + [head]) for c in range(len(head))]
    out = []
    out.append("greenev benchmark comparison (%d round(s); median of rounds)" % len(rounds))
    out.append("ratio = median / reference median; reference = greenev, except the floors: "
               "switch_* -> boost_context (raw fcontext),")
    out.append("        thread_roundtrip -> thread_roundtrip.eventfd, run_blocking(_samecpu) -> the same "
               "program's eventfd_floor, patched_read -> patched_read.raw.")
    out.append("Lower is better, except *_per_s (throughput): higher is better.")
    out.append("")
    line = "  ".join(str(h).ljust(w[c]) if c not in (2, 5, 6) else str(h).rjust(w[c])
                     for c, h in enumerate(head))
    out.append(line)
    out.append("-" * len(line))
    prev = None
    for r in rows:
        if prev is not None and r[0] != prev:
            out.append("")
        prev = r[0]
        out.append("  ".join(str(x).ljust(w[c]) if c not in (2, 5, 6) else str(x).rjust(w[c])
                             for c, x in enumerate(r)).rstrip())
    if notes:
        out.append("")
        out.append("notes:")
        for n in notes:
            out.append("  - " + n)
    print("\n".join(out))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
