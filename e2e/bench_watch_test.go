package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Watch benchmarks (make bench): the latency of a sync, from a write on
// the host to the bytes readable in the container, and the cost of
// watching a large tree.

// benchWatch is a running `berth watch` of a bench env.
type benchWatch struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
	done chan struct{}
}

func (w *benchWatch) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.out.Write(b)
}

func (w *benchWatch) has(s string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Contains(w.out.String(), s)
}

func startBenchWatch(b *testing.B, e *benchEnv, args ...string) *benchWatch {
	b.Helper()
	w := &benchWatch{done: make(chan struct{})}
	w.cmd = exec.Command(suite.berth, append([]string{"watch"}, args...)...)
	w.cmd.Dir, w.cmd.Env = e.dir, e.env
	w.cmd.Stdout, w.cmd.Stderr = w, w
	if err := w.cmd.Start(); err != nil {
		b.Fatal(err)
	}
	go func() { w.cmd.Wait(); close(w.done) }()
	b.Cleanup(func() {
		w.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-w.done:
		case <-time.After(30 * time.Second):
			w.cmd.Process.Kill()
			<-w.done
		}
	})
	return w
}

func (w *benchWatch) waitEnabled(b *testing.B, timeout time.Duration) {
	b.Helper()
	deadline := time.Now().Add(timeout)
	for !w.has("Watch enabled") {
		if time.Now().After(deadline) {
			w.mu.Lock()
			defer w.mu.Unlock()
			b.Fatalf("watch not enabled after %s:\n%s", timeout, w.out.String())
		}
		time.Sleep(time.Millisecond)
	}
}

func percentile(ds []time.Duration, p float64) float64 {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(float64(len(s)-1) * p)
	return float64(s[i]) / float64(time.Millisecond)
}

// BenchmarkWatchSyncLatency: 50 edits of a file in a sync rule's path,
// each timed from the write on the host until the container (read
// through /proc/PID/root of its init) holds the new bytes. Median and
// p95 in ms (targets ≤ 50 / ≤ 100).
func BenchmarkWatchSyncLatency(b *testing.B) {
	e := newBenchEnv(b, `services:
  web:
    image: busybox
    init: true
    command: ["sleep", "3600"]
    develop:
      watch:
        - path: ./site
          target: /www
          action: sync
`)
	site := filepath.Join(e.dir, "site")
	os.MkdirAll(site, 0o755)
	os.WriteFile(filepath.Join(site, "index.html"), []byte("0\n"), 0o644)
	w := startBenchWatch(b, e)
	w.waitEnabled(b, 3*time.Minute)
	pid := benchContainerPid(b, e, "web")
	inCtr := fmt.Sprintf("/proc/%d/root/www/index.html", pid)
	var lat []time.Duration
	for b.Loop() {
		for i := range 50 {
			want := []byte(fmt.Sprintf("edit %d %d\n", i, time.Now().UnixNano()))
			start := time.Now()
			if err := os.WriteFile(filepath.Join(site, "index.html"), want, 0o644); err != nil {
				b.Fatal(err)
			}
			for {
				if got, err := os.ReadFile(inCtr); err == nil && bytes.Equal(got, want) {
					break
				}
				if time.Since(start) > 10*time.Second {
					b.Fatalf("edit %d not in the container after 10 s", i)
				}
				time.Sleep(200 * time.Microsecond)
			}
			lat = append(lat, time.Since(start))
			time.Sleep(20 * time.Millisecond) // separate edits, not a burst
		}
	}
	b.ReportMetric(percentile(lat, 0.5), "ms-median")
	b.ReportMetric(percentile(lat, 0.95), "ms-p95")
}

// benchContainerPid is the host pid of the service's container init.
func benchContainerPid(b *testing.B, e *benchEnv, service string) int {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, suite.berth, "inspect", "-f", "{{.State.Pid}}", service)
	cmd.Dir, cmd.Env = e.dir, e.env
	out, err := cmd.Output()
	if err != nil {
		b.Fatalf("inspect: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil || pid <= 0 {
		b.Fatalf("inspect pid: %q", out)
	}
	return pid
}

// BenchmarkWatchLargeTree: `berth watch --no-up` of a 50 000-file tree
// (500 directories of 100 files): time from start to "Watch enabled"
// (targets ≤ 2 s) and the process's RSS once settled (≤ 30 MB).
func BenchmarkWatchLargeTree(b *testing.B) {
	e := newBenchEnv(b, `services:
  web:
    image: busybox
    develop:
      watch:
        - path: ./tree
          target: /tree
          action: sync
`)
	tree := filepath.Join(e.dir, "tree")
	for d := range 500 {
		dir := filepath.Join(tree, fmt.Sprintf("d%03d", d/50), fmt.Sprintf("e%03d", d))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		for f := range 100 {
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%03d.txt", f)), []byte("x"), 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
	var settle []time.Duration
	var rss []float64
	for b.Loop() {
		start := time.Now()
		w := startBenchWatch(b, e, "--no-up")
		w.waitEnabled(b, time.Minute)
		settle = append(settle, time.Since(start))
		time.Sleep(500 * time.Millisecond)
		rss = append(rss, float64(rssKiB(w.cmd.Process.Pid))/1024)
		w.cmd.Process.Signal(syscall.SIGINT)
		<-w.done
	}
	sort.Float64s(rss)
	b.ReportMetric(percentile(settle, 0.5), "ms-settle")
	b.ReportMetric(rss[len(rss)/2], "MB-rss")
}

// benchAwaitBody polls url until its body holds want; the time it took.
func benchAwaitBody(b *testing.B, url, want string, start time.Time, limit time.Duration) time.Duration {
	b.Helper()
	c := &http.Client{Timeout: time.Second}
	for {
		if resp, err := c.Get(url); err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.Contains(string(body), want) {
				return time.Since(start)
			}
		}
		if time.Since(start) > limit {
			b.Fatalf("%s did not answer %q within %s", url, want, limit)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// BenchmarkWatchSyncRestart: `sync+restart` of a small service (busybox
// httpd serving a copy of the synced file it makes at start, "v0" before
// the first sync, as /conf starts empty in the container; init: true, so
// SIGTERM ends httpd rather than the 10 s stop timeout): 10 edits,
// each timed from the write until the published port answers with the
// new content, i.e. the service restarted. Median in ms (target ≤ 300).
func BenchmarkWatchSyncRestart(b *testing.B) {
	port := netFreePort(b, "tcp")
	e := newBenchEnv(b, fmt.Sprintf(`services:
  web:
    image: busybox
    init: true
    command: ["sh", "-c", "mkdir -p /www && { cp /conf/version /www/index.html || echo v0 >/www/index.html; } && exec busybox httpd -f -p 8080 -h /www"]
    ports:
      - "127.0.0.1:%d:8080"
    develop:
      watch:
        - path: ./conf
          target: /conf
          action: sync+restart
`, port))
	conf := filepath.Join(e.dir, "conf")
	os.MkdirAll(conf, 0o755)
	os.WriteFile(filepath.Join(conf, "version"), []byte("v0\n"), 0o644)
	w := startBenchWatch(b, e)
	w.waitEnabled(b, 3*time.Minute)
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	benchAwaitBody(b, url, "v0", time.Now(), time.Minute)
	var lat []time.Duration
	for b.Loop() {
		for i := 1; i <= 10; i++ {
			v := fmt.Sprintf("v%d-%d", i, time.Now().UnixNano())
			start := time.Now()
			if err := os.WriteFile(filepath.Join(conf, "version"), []byte(v+"\n"), 0o644); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, benchAwaitBody(b, url, v, start, time.Minute))
		}
	}
	b.ReportMetric(percentile(lat, 0.5), "ms-median")
	b.ReportMetric(percentile(lat, 0.95), "ms-p95")
}

// BenchmarkWatchRebuild: `rebuild` of a Go web service (golang:local →
// scratch, as examples/buildstack's api) after a one-line change: 3
// edits, each timed from the write until the published port answers with
// the new version. Median in s (target ≤ 2).
func BenchmarkWatchRebuild(b *testing.B) {
	port := netFreePort(b, "tcp")
	e := newBenchEnv(b, fmt.Sprintf(`services:
  web:
    build: .
    ports:
      - "127.0.0.1:%d:8080"
    develop:
      watch:
        - path: .
          action: rebuild
          ignore: [compose.yaml]
`, port))
	loadGolang(b, func(args ...string) { e.berth(b, args...) })
	for name, content := range map[string]string{
		"go.mod": "module example.com/web\n\ngo 1.22\n", "main.go": goWebMain,
		"message.go": "package main\n\nconst message = \"v0\"\n", "Dockerfile": watchGoDockerfile,
	} {
		if err := os.WriteFile(filepath.Join(e.dir, name), []byte(content), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	w := startBenchWatch(b, e)
	w.waitEnabled(b, 5*time.Minute)
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	benchAwaitBody(b, url, "v0 from", time.Now(), 5*time.Minute)
	var lat []time.Duration
	for b.Loop() {
		for i := 1; i <= 3; i++ {
			v := fmt.Sprintf("v%d", i)
			start := time.Now()
			if err := os.WriteFile(filepath.Join(e.dir, "message.go"), []byte("package main\n\nconst message = \""+v+"\"\n"), 0o644); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, benchAwaitBody(b, url, v+" from", start, 3*time.Minute))
		}
	}
	b.ReportMetric(percentile(lat, 0.5)/1000, "s-median")
}
