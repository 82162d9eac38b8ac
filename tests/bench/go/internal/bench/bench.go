// Package bench: the output protocol and argument helpers shared by the Go peers
// (same conventions as tests/bench/bench_common.h).
//
//	RESULT <bench>.<impl> <value> <unit>
//	NOTE <text>
//
// Arguments are key=value words, e.g. `go_switch pair_iters=1000000 only=switch_pair`.
package bench

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

func init() {
	// Every Go peer is a single-P benchmark unless GOMAXPROCS says otherwise explicitly.
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
}

func arg(name string) (string, bool) {
	for _, a := range os.Args[1:] {
		if strings.HasPrefix(a, name+"=") {
			return a[len(name)+1:], true
		}
	}
	return "", false
}

// Str returns the value of name=..., or dflt.
func Str(name, dflt string) string {
	if v, ok := arg(name); ok {
		return v
	}
	return dflt
}

// Int returns the integer value of name=..., or dflt.
func Int(name string, dflt int) int {
	if v, ok := arg(name); ok {
		n, err := strconv.ParseInt(v, 0, 64)
		if err != nil {
			fmt.Fprintf(os.Stderr, "bad %s=%q\n", name, v)
			os.Exit(2)
		}
		return int(n)
	}
	return dflt
}

// Selected reports whether only= is absent or lists b.
func Selected(b string) bool {
	v, ok := arg("only")
	if !ok {
		return true
	}
	for _, x := range strings.Split(v, ",") {
		if x == b {
			return true
		}
	}
	return false
}

// Result prints one RESULT line.
func Result(bench, impl string, value float64, unit string) {
	fmt.Printf("RESULT %s.%s %.6g %s\n", bench, impl, value, unit)
}

// Fail prints a NOTE and a FAIL result.
func Fail(bench, impl, unit, why string) {
	fmt.Printf("NOTE %s.%s: %s\nRESULT %s.%s FAIL %s\n", bench, impl, why, bench, impl, unit)
}

// NsPer returns elapsed nanoseconds per op.
func NsPer(d time.Duration, n int) float64 { return float64(d.Nanoseconds()) / float64(n) }

// StatusKiB reads a field of /proc/self/status ("VmRSS", "VmHWM") in KiB; -1 if unavailable.
func StatusKiB(field string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, field+":") {
			fs := strings.Fields(line[len(field)+1:])
			if len(fs) > 0 {
				n, _ := strconv.ParseInt(fs[0], 10, 64)
				return n
			}
		}
	}
	return -1
}
