// go_switch — goroutine switch cost with runtime.Gosched(), GOMAXPROCS=1.
//
//	switch_pair.go      2 goroutines, each calls Gosched() in a loop; ns per Gosched
//	switch_ring1000.go  1000 goroutines, each calls Gosched() in a loop; ns per Gosched
//
// Note: Gosched puts the caller on the *global* run queue (with its lock), so this is Go's
// explicit-yield path, not the cheaper channel hand-off path (see go_sync for that).
//
// args: pair_iters=4000000 ring_iters=2000000 only=switch_pair,switch_ring1000
package main

import (
	"runtime"
	"sync"
	"time"

	"greenevbench/internal/bench"
)

func run(n, switches int) float64 {
	per := switches / n
	var wg sync.WaitGroup
	var ready sync.WaitGroup
	start := make(chan struct{})
	wg.Add(n)
	ready.Add(n)
	for i := 0; i < n; i++ {
		go func() {
			defer wg.Done()
			ready.Done()
			<-start
			for k := 0; k < per; k++ {
				runtime.Gosched()
			}
		}()
	}
	ready.Wait() // all goroutines exist and have run once
	t0 := time.Now()
	close(start)
	wg.Wait()
	return bench.NsPer(time.Since(t0), per*n)
}

func main() {
	if bench.Selected("switch_pair") {
		bench.Result("switch_pair", "go", run(2, bench.Int("pair_iters", 4000000)), "ns_per_switch")
	}
	if bench.Selected("switch_ring1000") {
		bench.Result("switch_ring1000", "go", run(1000, bench.Int("ring_iters", 2000000)), "ns_per_switch")
	}
}
