// Command logger is a test helper baked into berth's test images: it prints
// `line 1` … `line N` and exits with a chosen code.
//
//	-lines N       how many lines (env LINES, default 10)
//	-interval D    pause between lines, a Go duration (env INTERVAL, default 0)
//	-exit-code N   exit code (env EXIT_CODE, default 0)
//	-stderr        alternate stdout and stderr (odd lines stdout, even stderr)
//	               (env STDERR=1)
//
// Flags override the environment.
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"time"
)

func main() {
	lines := flag.Int("lines", envInt("LINES", 10), "number of lines to print")
	interval := flag.Duration("interval", envDuration("INTERVAL", 0), "pause between lines")
	code := flag.Int("exit-code", envInt("EXIT_CODE", 0), "exit code")
	alt := flag.Bool("stderr", os.Getenv("STDERR") == "1" || os.Getenv("STDERR") == "true", "alternate stdout and stderr")
	flag.Parse()

	for i := 1; i <= *lines; i++ {
		out := os.Stdout
		if *alt && i%2 == 0 {
			out = os.Stderr
		}
		fmt.Fprintf(out, "line %d\n", i)
		if *interval > 0 && i < *lines {
			time.Sleep(*interval)
		}
	}
	os.Exit(*code)
}

func envInt(key string, def int) int {
	s := os.Getenv(key)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		fmt.Fprintf(os.Stderr, "logger: %s=%q: %v\n", key, s, err)
		os.Exit(2)
	}
	return n
}

func envDuration(key string, def time.Duration) time.Duration {
	s := os.Getenv(key)
	if s == "" {
		return def
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		// A bare number means milliseconds.
		n, nerr := strconv.Atoi(s)
		if nerr != nil {
			fmt.Fprintf(os.Stderr, "logger: %s=%q: %v\n", key, s, err)
			os.Exit(2)
		}
		d = time.Duration(n) * time.Millisecond
	}
	return d
}
