package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Whole-command benchmarks of the built binary (make bench). Each reports
// medians of its iterations as custom metrics; run with -benchtime 5x or
// more for a meaningful median.

type benchEnv struct {
	dir string
	env []string
}

func newBenchEnv(b *testing.B, compose string) *benchEnv {
	b.Helper()
	if suite.berth == "" {
		b.Skip("skipped: needs root (the e2e suite is not set up)")
	}
	base, err := os.MkdirTemp(suite.tmp, "bench")
	if err != nil {
		b.Fatal(err)
	}
	e := &benchEnv{dir: filepath.Join(base, "proj")}
	os.MkdirAll(e.dir, 0o755)
	os.MkdirAll(filepath.Join(base, "root"), 0o755)
	os.MkdirAll(filepath.Join(base, "run"), 0o755)
	if err := os.WriteFile(filepath.Join(e.dir, "compose.yaml"), []byte(compose), 0o644); err != nil {
		b.Fatal(err)
	}
	e.env = append(os.Environ(), "BERTH_ROOT="+filepath.Join(base, "root"), "BERTH_RUN="+filepath.Join(base, "run"),
		suite.registry.MirrorEnv(), "NO_COLOR=1")
	e.env = append(e.env, noInternet...)
	suite.mu.Lock()
	suite.roots = append(suite.roots, base)
	suite.mu.Unlock()
	b.Cleanup(func() {
		e.berth(b, "down", "-v", "-t", "0")
		e.berth(b, "network", "prune", "-f") // the default bridge, if a container made it
		os.RemoveAll(base)
	})
	return e
}

func (e *benchEnv) berth(b *testing.B, args ...string) time.Duration {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, suite.berth, args...)
	cmd.Dir, cmd.Env = e.dir, e.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	if err != nil && args[0] != "down" {
		b.Fatalf("berth %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
	return d
}

func median(ds []time.Duration) float64 {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return float64(s[len(s)/2]) / float64(time.Millisecond)
}

func servicesCompose(n int, networked bool) string {
	var b strings.Builder
	b.WriteString("services:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  s%d:\n    image: busybox\n    command: [\"sleep\", \"1000\"]\n", i)
		if !networked {
			b.WriteString("    network_mode: none\n")
		}
	}
	return b.String()
}

// BenchmarkUpDown: warm `up -d` and `down -t 0` of N services
// (network_mode: none), medians reported separately.
func BenchmarkUpDown(b *testing.B) {
	for _, n := range []int{1, 10, 50} {
		b.Run(fmt.Sprintf("services=%d", n), func(b *testing.B) {
			e := newBenchEnv(b, servicesCompose(n, false))
			e.berth(b, "up", "-d") // warm the image store
			e.berth(b, "down", "-t", "0")
			var ups, downs []time.Duration
			b.ResetTimer()
			for b.Loop() {
				ups = append(ups, e.berth(b, "up", "-d"))
				downs = append(downs, e.berth(b, "down", "-t", "0"))
			}
			b.ReportMetric(median(ups), "ms-up")
			b.ReportMetric(median(downs), "ms-down")
			b.ReportMetric(median(ups)+median(downs), "ms-up+down")
		})
	}
}

// BenchmarkUpDownBridge20: 20 services on the project's bridge network,
// one publishing a port: up -d + down -t 0 (issue 6's reference:
// docker-compose 5.2 s here).
func BenchmarkUpDownBridge20(b *testing.B) {
	port := freePort(b)
	compose := servicesCompose(20, true) + fmt.Sprintf("  web:\n    image: httpecho\n    ports: [\"%d:8080\"]\n", port)
	e := newBenchEnv(b, compose)
	e.berth(b, "up", "-d")
	e.berth(b, "down", "-t", "0")
	var ds []time.Duration
	b.ResetTimer()
	for b.Loop() {
		ds = append(ds, e.berth(b, "up", "-d")+e.berth(b, "down", "-t", "0"))
	}
	b.ReportMetric(median(ds), "ms-up+down")
}

// BenchmarkRunRmTrue: `berth run --rm --no-deps SERVICE true`.
func BenchmarkRunRmTrue(b *testing.B) {
	e := newBenchEnv(b, "services:\n  s:\n    image: busybox\n    network_mode: none\n")
	e.berth(b, "run", "--rm", "-T", "s", "true")
	var ds []time.Duration
	b.ResetTimer()
	for b.Loop() {
		ds = append(ds, e.berth(b, "run", "--rm", "-T", "--no-deps", "s", "true"))
	}
	b.ReportMetric(median(ds), "ms-run")
}

// BenchmarkSupervisorRSS: resident memory of the supervisor of a
// 10-service project once settled (a second after up returned: the
// supervisor drops the pages of the binary that starting it touched).
func BenchmarkSupervisorRSS(b *testing.B) {
	e := newBenchEnv(b, servicesCompose(10, false))
	var rss []time.Duration // KiB, stored as durations for median()
	for b.Loop() {
		e.berth(b, "up", "-d")
		pid := benchSupervisorPid(e)
		if pid == 0 {
			b.Fatal("no supervisor after up")
		}
		time.Sleep(1500 * time.Millisecond)
		kib := rssKiB(pid)
		rss = append(rss, time.Duration(kib)*time.Millisecond)
		e.berth(b, "down", "-t", "0")
	}
	b.ReportMetric(median(rss)/1024, "MB-rss")
}

func benchSupervisorPid(e *benchEnv) int {
	var run string
	for _, kv := range e.env {
		if v, ok := strings.CutPrefix(kv, "BERTH_RUN="); ok {
			run = v
		}
	}
	matches, _ := filepath.Glob(filepath.Join(run, "projects", "*", "supervisor.pid"))
	for _, m := range matches {
		data, err := os.ReadFile(m)
		if err == nil {
			pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
			return pid
		}
	}
	return 0
}

func rssKiB(pid int) int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	return 0
}

// BenchmarkPublishedPort: HTTP requests through a published port (kernel
// DNAT) vs straight to the container's address, fixed request count.
func BenchmarkPublishedPort(b *testing.B) {
	port := freePort(b)
	e := newBenchEnv(b, fmt.Sprintf("services:\n  web:\n    image: httpecho\n    ports: [\"%d:8080\"]\n", port))
	e.berth(b, "up", "-d")
	ip := containerIP(b, e, "web")
	client := &http.Client{Timeout: 5 * time.Second}
	get := func(url string) {
		resp, err := client.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
	}
	waitHTTP(b, client, fmt.Sprintf("http://127.0.0.1:%d/healthz", port))
	const reqs = 200
	for _, tc := range []struct{ name, url string }{
		{"published", fmt.Sprintf("http://127.0.0.1:%d/healthz", port)},
		{"direct", fmt.Sprintf("http://%s:8080/healthz", ip)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				for i := 0; i < reqs; i++ {
					get(tc.url)
				}
			}
			b.ReportMetric(float64(reqs)*float64(b.N)/b.Elapsed().Seconds(), "req/s")
		})
	}
}

func waitHTTP(b *testing.B, c *http.Client, url string) {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := c.Get(url); err == nil {
			resp.Body.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.Fatalf("%s never answered", url)
}

func containerIP(b *testing.B, e *benchEnv, service string) string {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, suite.berth, "exec", "-T", service, "sh", "-c", "ip -4 -o addr show eth0")
	cmd.Dir, cmd.Env = e.dir, e.env
	out, err := cmd.Output()
	if err != nil {
		b.Fatalf("exec: %v", err)
	}
	f := strings.Fields(string(out))
	for i, w := range f {
		if w == "inet" && i+1 < len(f) {
			return strings.Split(f[i+1], "/")[0]
		}
	}
	b.Fatalf("no address in %q", out)
	return ""
}

func freePort(b *testing.B) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// BenchmarkBuildExample: cold (--no-cache) and warm (all cached) builds of
// examples/buildstack, its Go toolchain base loaded from a tarball and its
// busybox base from the suite registry. Metrics: medians in ms and
// warm/cold.
func BenchmarkBuildExample(b *testing.B) {
	e := newBenchEnv(b, "")
	if out, err := exec.Command("cp", "-a", exampleDir(b, "buildstack")+"/.", e.dir).CombinedOutput(); err != nil {
		b.Fatalf("copy the example: %v\n%s", err, out)
	}
	loadGolang(b, func(args ...string) { e.berth(b, args...) })
	e.berth(b, "build") // the base images in place, the cache warm
	var cold, warm []time.Duration
	for b.Loop() {
		cold = append(cold, e.berth(b, "build", "--no-cache"))
		warm = append(warm, e.berth(b, "build"))
	}
	b.ReportMetric(median(cold), "cold-ms")
	b.ReportMetric(median(warm), "warm-ms")
	b.ReportMetric(median(warm)/median(cold), "warm/cold")
}
