// go_sync — Go channel primitives, GOMAXPROCS=1.
//
//	event_pingpong.go  two goroutines bounce a token over two unbuffered channels; ns per round trip
//	queue_spsc.go      1 producer / 1 consumer over make(chan int, 1024); items per second
//
// args: pingpong_iters=1000000 queue_items=10000000 only=event_pingpong,queue_spsc
package main

import (
	"time"

	"greenevbench/internal/bench"
)

func pingpong(n int) float64 {
	ping, pong := make(chan struct{}), make(chan struct{})
	go func() {
		for i := 0; i < n; i++ {
			<-ping
			pong <- struct{}{}
		}
	}()
	t0 := time.Now()
	for i := 0; i < n; i++ {
		ping <- struct{}{}
		<-pong
	}
	return bench.NsPer(time.Since(t0), n)
}

func queue(n int) float64 {
	ch := make(chan int, 1024)
	done := make(chan int)
	go func() {
		s := 0
		for v := range ch {
			s += v
		}
		done <- s
	}()
	t0 := time.Now()
	go func() {
		for i := 0; i < n; i++ {
			ch <- i
		}
		close(ch)
	}()
	s := <-done
	el := time.Since(t0)
	if s != n*(n-1)/2 {
		bench.Fail("queue_spsc", "go", "ops_per_s", "checksum mismatch")
	}
	return float64(n) / el.Seconds()
}

func main() {
	if bench.Selected("event_pingpong") {
		bench.Result("event_pingpong", "go", pingpong(bench.Int("pingpong_iters", 1000000)), "ns_per_roundtrip")
	}
	if bench.Selected("queue_spsc") {
		bench.Result("queue_spsc", "go", queue(bench.Int("queue_items", 10000000)), "ops_per_s")
	}
}
