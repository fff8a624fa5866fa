package testimages

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// start runs a built test program with env, killed when the test ends.
func start(t *testing.T, prog string, env ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	bin, err := Program(prog)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), env...)
	out := &bytes.Buffer{}
	cmd.Stdout = out
	cmd.Stderr = out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd, out
}

func waitDial(t *testing.T, network, addr string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout(network, addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s %s never answered: %v", network, addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func TestHTTPEcho(t *testing.T) {
	port := freePort(t)
	cmd, out := start(t, "httpecho", fmt.Sprintf("PORT=%d", port), "BERTH_TEST_VAR=hello")
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	waitDial(t, "tcp", fmt.Sprintf("127.0.0.1:%d", port))

	host, _ := os.Hostname()
	code, body := get(t, base+"/some/path?q=1")
	if code != 200 || !strings.Contains(body, "hostname: "+host+"\n") || !strings.Contains(body, "path: /some/path?q=1") {
		t.Errorf("/ = %d %q", code, body)
	}
	if code, body := get(t, base+"/env"); code != 200 || !strings.Contains(body, "BERTH_TEST_VAR=hello\n") {
		t.Errorf("/env = %d %q", code, body)
	}
	if code, body := get(t, base+"/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz = %d %q", code, body)
	}
	if code, _ := get(t, base+"/exit?code=7"); code != 200 {
		t.Errorf("/exit = %d", code)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 7 {
			t.Errorf("httpecho exit: %v, want code 7", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("httpecho did not exit after /exit?code=7")
	}
	if n := strings.Count(out.String(), "GET /"); n != 4 {
		t.Errorf("httpecho logged %d request lines, want 4:\n%s", n, out)
	}
}

func TestTCPEcho(t *testing.T) {
	port := freePort(t)
	start(t, "tcpecho", fmt.Sprintf("PORT=%d", port))
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	waitDial(t, "tcp", addr)

	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("ping tcp")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping tcp" {
		t.Errorf("tcp echo = %q, %v", buf, err)
	}

	u, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	_ = u.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := u.Write([]byte("ping udp")); err != nil {
		t.Fatal(err)
	}
	n, err := u.Read(buf)
	if err != nil || string(buf[:n]) != "ping udp" {
		t.Errorf("udp echo = %q, %v", buf[:n], err)
	}
}

func TestLogger(t *testing.T) {
	bin, err := Program("logger")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()

	for _, tc := range []struct {
		name           string
		args, env      []string
		stdout, stderr string
		code           int
	}{
		{"env", nil, []string{"LINES=3", "EXIT_CODE=3"}, "line 1\nline 2\nline 3\n", "", 3},
		{"flags", []string{"-lines", "2", "-exit-code", "0"}, []string{"LINES=9"}, "line 1\nline 2\n", "", 0},
		{"stderr", []string{"-lines", "4", "-stderr", "-interval", "1ms"}, nil, "line 1\nline 3\n", "line 2\nline 4\n", 0},
		{"interval env", nil, []string{"LINES=2", "INTERVAL=5ms", "EXIT_CODE=42"}, "line 1\nline 2\n", "", 42},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.CommandContext(ctx, bin, tc.args...)
			cmd.Env = append(os.Environ(), tc.env...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.code || stdout.String() != tc.stdout || stderr.String() != tc.stderr {
				t.Errorf("code %d stdout %q stderr %q; want %d %q %q", code, stdout.String(), stderr.String(), tc.code, tc.stdout, tc.stderr)
			}
		})
	}
}

func TestProgramsStatic(t *testing.T) {
	for _, p := range Programs() {
		bin, err := Program(p)
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(bin)
		if err != nil {
			t.Fatal(err)
		}
		// A dynamically linked ELF names its interpreter.
		if bytes.Contains(b, []byte("/lib64/ld-linux")) {
			t.Errorf("%s is dynamically linked", p)
		}
	}
	if got := strings.Join(Programs(), ","); got != "httpecho,logger,sshagentls,tcpecho" {
		t.Errorf("Programs() = %s", got)
	}
}
