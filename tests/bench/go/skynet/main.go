// go_skynet — the skynet benchmark (github.com/atemerev/skynet), GOMAXPROCS=1: 1M leaf
// goroutines in a 10-ary tree summing 0..999999. Two formulations, one per process (VmHWM is
// process-wide):
//
//	mode=chan (default)  Go's own: each node sums its children's results received over an
//	                     unbuffered channel -> skynet_chan_ms.go, skynet_chan_rss.go
//	mode=join            the join formulation greenev's skynet_ms uses, in Go's idiom: children
//	                     write their slot of a [10]int, the parent waits on a sync.WaitGroup
//	                     -> skynet_ms.go, skynet_rss.go
//
// args: leaves=1000000 (a power of 10), mode=chan|join
package main

import (
	"fmt"
	"sync"
	"time"

	"greenevbench/internal/bench"
)

func skynet(c chan int, num, size, div int) {
	if size == 1 {
		c <- num
		return
	}
	rc := make(chan int)
	sum := 0
	for i := 0; i < div; i++ {
		subNum := num + i*(size/div)
		go skynet(rc, subNum, size/div, div)
	}
	for i := 0; i < div; i++ {
		sum += <-rc
	}
	c <- sum
}

func skynetJoin(num, size, div int) int {
	if size == 1 {
		return num
	}
	var part [10]int
	var wg sync.WaitGroup
	wg.Add(div)
	for i := 0; i < div; i++ {
		go func(i int) {
			part[i] = skynetJoin(num+i*(size/div), size/div, div)
			wg.Done()
		}(i)
	}
	wg.Wait()
	sum := 0
	for i := 0; i < div; i++ {
		sum += part[i]
	}
	return sum
}

func main() {
	leaves := bench.Int("leaves", 1000000)
	mode := bench.Str("mode", "chan")
	key := "skynet_chan"
	t0 := time.Now()
	var sum int
	if mode == "join" {
		key = "skynet"
		sum = skynetJoin(0, leaves, 10)
	} else {
		c := make(chan int)
		go skynet(c, 0, leaves, 10)
		sum = <-c
	}
	el := time.Since(t0)
	if want := leaves * (leaves - 1) / 2; sum != want {
		bench.Fail(key+"_ms", "go", "ms", fmt.Sprintf("wrong sum %d (expected %d)", sum, want))
		return
	}
	bench.Result(key+"_ms", "go", float64(el.Nanoseconds())/1e6, "ms")
	bench.Result(key+"_rss", "go", float64(bench.StatusKiB("VmHWM"))/1024, "mb_peak_rss")
}
