// tests/bench/http/main.go — Go net/http peer for the HTTP hello benchmark: GET / answers
// "Hello, world!\n" as text/plain. Run with GOMAXPROCS=1 (one core, like the others).
//   http_go PORT
package main

import (
	"net/http"
	"os"
)

func main() {
	body := []byte("Hello, world!\n")
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write(body)
	})
	if err := http.ListenAndServe("127.0.0.1:"+os.Args[1], nil); err != nil {
		panic(err)
	}
}
