"""gevent peer: greenlet switch cost with gevent.sleep(0) (one thread, default libev/libuv hub).

  switch_pair.gevent      2 greenlets, each calls gevent.sleep(0) in a loop; ns per sleep(0)
  switch_ring1000.gevent  1000 greenlets, each calls gevent.sleep(0) in a loop; ns per sleep(0)

sleep(0) goes greenlet -> hub -> next greenlet (two greenlet switches per yield); it is counted as
one switch, like a yield in every other implementation.

args: pair_iters=100000 ring_iters=100000 only=switch_pair,switch_ring1000
"""
import gevent

from _bench import iarg, now_ns, result, selected


def run(n, switches):
    per = switches // n

    def body():
        for _ in range(per):
            gevent.sleep(0)

    gs = [gevent.spawn(body) for _ in range(n)]
    t0 = now_ns()
    gevent.joinall(gs, raise_error=True)
    return (now_ns() - t0) / (per * n)


if __name__ == "__main__":
    if selected("switch_pair"):
        result("switch_pair", "gevent", run(2, iarg("pair_iters", 100000)), "ns_per_switch")
    if selected("switch_ring1000"):
        result("switch_ring1000", "gevent", run(1000, iarg("ring_iters", 100000)), "ns_per_switch")
