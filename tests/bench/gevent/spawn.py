"""gevent peer: spawn+run+join of an empty greenlet.

  spawn_join_seq.gevent    g = gevent.spawn(f); g.join(); repeated; ns per greenlet
  spawn_join_batch.gevent  spawn 1000, gevent.joinall(...), repeated; ns per greenlet

args: iters=100000 only=spawn_join_seq,spawn_join_batch
"""
import gevent

from _bench import iarg, now_ns, result, selected


def empty():
    pass


def seq(n):
    t0 = now_ns()
    for _ in range(n):
        gevent.spawn(empty).join()
    return (now_ns() - t0) / n


def batch(n, b=1000):
    rounds = n // b
    t0 = now_ns()
    for _ in range(rounds):
        gevent.joinall([gevent.spawn(empty) for _ in range(b)])
    return (now_ns() - t0) / (rounds * b)


if __name__ == "__main__":
    n = iarg("iters", 100000)
    if selected("spawn_join_seq"):
        result("spawn_join_seq", "gevent", seq(n), "ns_per_op")
    if selected("spawn_join_batch"):
        result("spawn_join_batch", "gevent", batch(n), "ns_per_op")
