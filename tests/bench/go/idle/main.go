// go_idle — idle memory: RSS per goroutine parked in time.Sleep(1h), GOMAXPROCS=1.
//
//	idle_rss_<label>.go   (VmRSS after all started - VmRSS before spawning) / n, KiB
//
// args: n=100000 label=100k
package main

import (
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
	"time"

	"greenevbench/internal/bench"
)

func main() {
	n := bench.Int("n", 100000)
	name := "idle_rss_" + bench.Str("label", "100k")
	var started int64
	rss0 := bench.StatusKiB("VmRSS")
	t0 := time.Now()
	for i := 0; i < n; i++ {
		go func() {
			atomic.AddInt64(&started, 1)
			time.Sleep(time.Hour)
		}()
	}
	rss1 := bench.StatusKiB("VmRSS")
	for atomic.LoadInt64(&started) < int64(n) {
		runtime.Gosched()
	}
	el := time.Since(t0)
	rss2 := bench.StatusKiB("VmRSS")
	fmt.Printf("INFO %s.go n=%d rss_before=%dKiB after_spawn=%dKiB after_start=%dKiB spawn+start=%.1fms\n",
		name, n, rss0, rss1, rss2, float64(el.Microseconds())/1000)
	bench.Result(name, "go", float64(rss2-rss0)/float64(n), "kib_per_fiber")
	os.Exit(0)
}
