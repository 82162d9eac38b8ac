// go_spawn — spawn+run+join of an empty goroutine (go + sync.WaitGroup), GOMAXPROCS=1.
//
//	spawn_join_seq.go    go f(); wg.Wait(); repeated; ns per goroutine
//	spawn_join_batch.go  1000 x go f(); wg.Wait(); repeated; ns per goroutine
//
// args: iters=1000000 only=spawn_join_seq,spawn_join_batch
package main

import (
	"sync"
	"time"

	"greenevbench/internal/bench"
)

var sink int

func seq(n int) float64 {
	var wg sync.WaitGroup
	t0 := time.Now()
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() { sink++; wg.Done() }()
		wg.Wait()
	}
	return bench.NsPer(time.Since(t0), n)
}

func batch(n, b int) float64 {
	var wg sync.WaitGroup
	rounds := n / b
	t0 := time.Now()
	for r := 0; r < rounds; r++ {
		wg.Add(b)
		for i := 0; i < b; i++ {
			go func() { sink++; wg.Done() }()
		}
		wg.Wait()
	}
	return bench.NsPer(time.Since(t0), rounds*b)
}

func main() {
	n := bench.Int("iters", 1000000)
	if bench.Selected("spawn_join_seq") {
		bench.Result("spawn_join_seq", "go", seq(n), "ns_per_op")
	}
	if bench.Selected("spawn_join_batch") {
		bench.Result("spawn_join_batch", "go", batch(n, 1000), "ns_per_op")
	}
}
