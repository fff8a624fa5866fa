package e2e

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Docker Compose's pkg/e2e watch scenarios that are not in watch_test.go
// (see parity_compose_test.go for how they are ported).

// Compose: watch_test.go TestCheckWarningXInitialSyn (fixture
// watch/x-initialSync.yaml): a watch rule that asks for its initial sync
// with the legacy x-initialSync extension gets Compose's deprecation
// warning, on stderr, when `up --watch` starts watching. Compose's
// --verbose only raises its log level; berth has no such flag.
func TestParityComposeCheckWarningXInitialSyn(t *testing.T) {
	e := parityEnv(t, `services:
  test:
    build:
      dockerfile_inline: FROM alpine
    command: ping localhost
    volumes:
      - /data
    develop:
      watch:
        - path: .
          target: /data
          action: sync+exec
          exec:
            command: echo "SUCCESS"
          x-initialSync: true
`)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := e.Cmd(ctx, "up", "--watch")
	var stdout, stderr watchProc
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	const want = "x-initialSync is DEPRECATED, please use the official `initial_sync` attribute"
	Eventually(t, 3*time.Minute, func() error {
		if !strings.Contains(stderr.String(), want) {
			return fmt.Errorf("stderr lacks %q\nstdout:\n%s\nstderr:\n%s", want, stdout.String(), stderr.String())
		}
		return nil
	})
	if strings.Contains(stdout.String(), want) {
		t.Errorf("the warning is on stdout too:\n%s", stdout.String())
	}
	e.Berth(t, "kill", "-s", "9")
}

// Compose: watch_test.go TestWatchMultiServices (fixture
// watch/rebuild.yaml): three services built from one file "test", each
// with a rebuild rule on it; `up --watch` serves the file's content in all
// three, and one write to it rebuilds all three.
func TestParityComposeWatchMultiServices(t *testing.T) {
	svc := func(name string) string {
		return fmt.Sprintf(`  %s:
    build:
      dockerfile_inline: |
        FROM nginx
        RUN mkdir /data
        COPY test /data/%s
    develop:
      watch:
        - path: test
          action: rebuild
`, name, name)
	}
	e := parityEnv(t, "services:\n"+svc("a")+svc("b")+svc("c"))
	e.WriteFile(t, "test", "test")
	w := startWatch(t, e, "up", "--watch")
	w.waitCount(t, "Attaching to ", 1, 3*time.Minute)
	waitRebuild := func(want string) {
		for _, s := range []string{"a", "b", "c"} {
			Eventually(t, 3*time.Minute, func() error {
				r := ctrRead(t, e, s, "cat", "/data/"+s)
				if !strings.Contains(r.Stdout, want) {
					return fmt.Errorf("cat /data/%s in %s: %q (exit %d, %s), want %q", s, s, r.Stdout, r.Code, strings.TrimSpace(r.Stderr), want)
				}
				return nil
			})
		}
	}
	waitRebuild("test")
	e.WriteFile(t, "test", "updated")
	waitRebuild("updated")
	e.Berth(t, "kill", "-s", "9")
}
