package supervisor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/internal/fsutil"
)

// KeepConfig configures a project's keeper (see Keep).
type KeepConfig struct {
	Project string
	RunDir  string
	// Serve returns an unstarted command that runs the supervisor proper.
	Serve func() *exec.Cmd
	Logf  func(format string, args ...any)
}

// keeperRestarts bounds how often a supervisor that keeps dying is
// started again: at most this many times within keeperWindow.
const (
	keeperRestarts = 5
	keeperWindow   = 30 * time.Second
)

// Keep is the keeper: the small parent of a project's supervisor, which
// outlives it. It is a child subreaper, so when the supervisor is killed
// (SIGKILL, the OOM killer) the project's container inits are re-parented
// to the keeper, which reaps them and writes each exit code to
// Paths.Exits/<pid>; and it starts a new supervisor at once, which adopts
// the running containers (adopt.go). It does nothing else, so it has
// nothing to crash on; it exits when the supervisor exits by itself (no
// container left) and no orphan is left to reap.
func Keep(ctx context.Context, cfg KeepConfig) error {
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	paths := PathsFor(cfg.RunDir, cfg.Project)
	if err := privateDir(paths.Dir); err != nil {
		return err
	}
	lock, ok, err := fsutil.TryAcquire(paths.Keeper, true)
	if err != nil {
		return err
	}
	if !ok {
		// Another keeper lives and is starting a supervisor: wait for it.
		return waitAlive(ctx, NewClient(cfg.RunDir, cfg.Project))
	}
	defer lock.Release()
	protectFromOOM(cfg.Logf)
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("become child subreaper: %w", err)
	}
	if err := privateDir(paths.Exits); err != nil {
		return err
	}
	var starts []time.Time
	sup, err := startServe(cfg)
	if err != nil {
		return err
	}
	starts = append(starts, time.Now())
	// What starting touched of the binary is not needed again.
	time.AfterFunc(time.Second, trimResident)
	time.AfterFunc(4*time.Second, trimResident)
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, 0, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil { // ECHILD: no supervisor and no orphan left
			return nil
		}
		if pid != sup {
			recordExit(paths, pid, exitCode(ws), cfg.Logf)
			continue
		}
		sup = 0
		if ws.Exited() && ws.ExitStatus() != 2 {
			// 0: idle exit; 1: an error it reported (the CLI shows it).
			// Reap what is left, then go.
			continue
		}
		// Killed (SIGKILL, the OOM killer) or a Go panic (exit code 2).
		cfg.Logf("keeper: supervisor %d died (%s)", pid, describe(ws))
		starts = recent(starts, time.Now().Add(-keeperWindow))
		if len(starts) >= keeperRestarts {
			cfg.Logf("keeper: supervisor died %d times within %s: not starting it again", len(starts), keeperWindow)
			continue
		}
		if sup, err = startServe(cfg); err != nil {
			cfg.Logf("keeper: %v", err)
			continue
		}
		starts = append(starts, time.Now())
	}
}

func startServe(cfg KeepConfig) (int, error) {
	cmd := cfg.Serve()
	cmd.Stdin = nil
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("start supervisor for project %s: %w", cfg.Project, err)
	}
	pid := cmd.Process.Pid
	// Reaped by the Wait4 loop, not by os/exec.
	cmd.Process.Release()
	return pid, nil
}

// exitCode is the shell's view of a wait status: the code, or 128+signal.
func exitCode(ws unix.WaitStatus) int {
	switch {
	case ws.Exited():
		return ws.ExitStatus()
	case ws.Signaled():
		return 128 + int(ws.Signal())
	}
	return 255
}

func describe(ws unix.WaitStatus) string {
	if ws.Signaled() {
		return "signal " + ws.Signal().String()
	}
	return "exit code " + strconv.Itoa(ws.ExitStatus())
}

func recent(ts []time.Time, since time.Time) []time.Time {
	out := ts[:0]
	for _, t := range ts {
		if t.After(since) {
			out = append(out, t)
		}
	}
	return out
}

// recordExit writes the exit code of an orphan the keeper reaped, for
// the supervisor that adopted it (or will).
func recordExit(paths Paths, pid, code int, logf func(string, ...any)) {
	path := filepath.Join(paths.Exits, strconv.Itoa(pid))
	if err := fsutil.WriteFile(path, []byte(strconv.Itoa(code)+"\n"), 0o600); err != nil {
		logf("keeper: record exit of pid %d: %v", pid, err)
	}
}

// waitAlive waits (10s at most) for the project's supervisor to answer.
func waitAlive(ctx context.Context, c *Client) error {
	deadline := time.Now().Add(10 * time.Second)
	for !c.Alive(ctx) {
		if time.Now().After(deadline) {
			return fmt.Errorf("project %s: another keeper holds the lock but no supervisor answers", c.Project)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}

// protectFromOOM makes the OOM killer pick almost anything before this
// process, as dockerd and containerd do for themselves (-999). Containers
// do not inherit it: their spec sets oomScoreAdj (0 by default).
func protectFromOOM(logf func(string, ...any)) {
	if err := os.WriteFile("/proc/self/oom_score_adj", []byte("-999"), 0); err != nil {
		logf("oom_score_adj -999 (needs CAP_SYS_RESOURCE): %v", err)
	}
}
