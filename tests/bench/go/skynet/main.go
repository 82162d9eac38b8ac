// go_skynet — the classic skynet benchmark (github.com/atemerev/skynet), GOMAXPROCS=1:
// 1M leaf goroutines in a 10-ary tree, each node sums its children's results received over an
// unbuffered channel.
//
//	skynet_ms.go    wall time, ms
//	skynet_rss.go   VmHWM (peak RSS) at the end, MB
//
// args: leaves=1000000 (a power of 10)
package main

import (
	"fmt"
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

func main() {
	leaves := bench.Int("leaves", 1000000)
	c := make(chan int)
	t0 := time.Now()
	go skynet(c, 0, leaves, 10)
	sum := <-c
	el := time.Since(t0)
	if want := leaves * (leaves - 1) / 2; sum != want {
		bench.Fail("skynet_ms", "go", "ms", fmt.Sprintf("wrong sum %d (expected %d)", sum, want))
		return
	}
	bench.Result("skynet_ms", "go", float64(el.Nanoseconds())/1e6, "ms")
	bench.Result("skynet_rss", "go", float64(bench.StatusKiB("VmHWM"))/1024, "mb_peak_rss")
}
