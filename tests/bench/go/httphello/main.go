// httphello: the Go peer for tests/bench/launcher_*.sh — net/http answering GET / with the same
// body as greenev-http ("Hello, world!\n"). Parallelism is GOMAXPROCS, set by the script.
package main

import (
	"flag"
	"log"
	"net/http"
)

func main() {
	addr := flag.String("listen", "127.0.0.1:8090", "address")
	flag.Parse()
	body := []byte("Hello, world!\n")
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write(body)
	})
	log.Fatal(http.ListenAndServe(*addr, nil))
}
