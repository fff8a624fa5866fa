package supervisor

import (
	"context"
	"errors"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/berth-dev/berth/engine/ociruntime"
	"github.com/berth-dev/berth/engine/state"
)

func TestStopSettings(t *testing.T) {
	for _, tc := range []struct {
		name    string
		rec     state.Container
		signal  string
		timeout time.Duration
		wantSig syscall.Signal
		wantT   time.Duration
		wantErr bool
	}{
		{name: "defaults", timeout: -1, wantSig: syscall.SIGTERM, wantT: 10 * time.Second},
		{name: "record's", rec: state.Container{StopSignal: "SIGINT", StopTimeout: 3 * time.Second}, timeout: -1, wantSig: syscall.SIGINT, wantT: 3 * time.Second},
		{name: "asked over record's", rec: state.Container{StopSignal: "SIGINT", StopTimeout: 3 * time.Second}, signal: "9", timeout: 5 * time.Second, wantSig: syscall.SIGKILL, wantT: 5 * time.Second},
		{name: "zero means at once", rec: state.Container{StopTimeout: 3 * time.Second}, timeout: 0, wantSig: syscall.SIGTERM, wantT: 0},
		{name: "bad signal", signal: "SIGNOPE", timeout: -1, wantErr: true},
		{name: "bad record signal", rec: state.Container{StopSignal: "0"}, timeout: -1, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sig, d, err := stopSettings(&tc.rec, tc.signal, tc.timeout)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("stopSettings = %v, %v; want an error", sig, d)
				}
				return
			}
			if err != nil || sig != tc.wantSig || d != tc.wantT {
				t.Fatalf("stopSettings = %v, %v, %v; want %v, %v", sig, d, err, tc.wantSig, tc.wantT)
			}
		})
	}
}

// createRuntime is a runtime whose creates fail while failures lasts.
type createRuntime struct {
	fakeRuntime
	failures int
	creates  int
	deletes  int
	delErr   error
}

func (r *createRuntime) Create(context.Context, string, string, ociruntime.CreateOpts) (int, error) {
	r.creates++
	if r.creates <= r.failures {
		return 0, errors.New("container exists")
	}
	return 42, nil
}

func (r *createRuntime) Delete(context.Context, string, bool) error {
	r.deletes++
	return r.delErr
}

// oneCallRuntime creates and starts in one call.
type oneCallRuntime struct{ createRuntime }

func (r *oneCallRuntime) CreateStarted(ctx context.Context, id, bundle string, o ociruntime.CreateOpts) (int, error) {
	return r.Create(ctx, id, bundle, o)
}

func TestCreateInit(t *testing.T) {
	for _, tc := range []struct {
		name                       string
		rt                         ociruntime.Runtime
		wantPid, wantCreates, wDel int
		wantOneCall, wantErr       bool
	}{
		{name: "first try", rt: &createRuntime{}, wantPid: 42, wantCreates: 1},
		{name: "leftover cleared", rt: &createRuntime{failures: 1}, wantPid: 42, wantCreates: 2, wDel: 1},
		{name: "fails twice", rt: &createRuntime{failures: 2}, wantCreates: 2, wDel: 1, wantErr: true},
		{name: "delete fails", rt: &createRuntime{failures: 1, delErr: errors.New("busy")}, wantCreates: 1, wDel: 1, wantErr: true},
		{name: "one call", rt: &oneCallRuntime{}, wantPid: 42, wantCreates: 1, wantOneCall: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pid, oneCall, err := createInit(t.Context(), tc.rt, "id", "/bundle", ociruntime.CreateOpts{})
			if (err != nil) != tc.wantErr || oneCall != tc.wantOneCall || (err == nil && pid != tc.wantPid) {
				t.Fatalf("createInit = %d, %v, %v", pid, oneCall, err)
			}
			var cr *createRuntime
			switch rt := tc.rt.(type) {
			case *createRuntime:
				cr = rt
			case *oneCallRuntime:
				cr = &rt.createRuntime
			}
			if cr.creates != tc.wantCreates || cr.deletes != tc.wDel {
				t.Fatalf("creates, deletes = %d, %d; want %d, %d", cr.creates, cr.deletes, tc.wantCreates, tc.wDel)
			}
		})
	}
}

func TestAwaitConsole(t *testing.T) {
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sio := &stdio{consoleCh: make(chan *os.File, 1), console: f}
	sio.consoleCh <- f
	sio.awaitConsole(time.Second)
	if len(sio.readers) != 1 || sio.readers[0].name != "stdout" || sio.readers[0].f != f {
		t.Fatalf("readers = %+v, want the pty master as stdout", sio.readers)
	}

	// None received (a failed receive sends nil): no reader.
	sio = &stdio{consoleCh: make(chan *os.File, 1), console: f}
	sio.consoleCh <- nil
	sio.awaitConsole(time.Second)
	if len(sio.readers) != 0 {
		t.Fatalf("readers = %+v, want none", sio.readers)
	}

	// Never sent: the socket is closed after the wait.
	c := &closeCount{}
	sio = &stdio{consoleCh: make(chan *os.File, 1), console: c}
	sio.awaitConsole(10 * time.Millisecond)
	if c.n != 1 || len(sio.readers) != 0 {
		t.Fatalf("closes = %d, readers = %+v; want the socket closed, no reader", c.n, sio.readers)
	}
}

type closeCount struct{ n int }

func (c *closeCount) Close() error { c.n++; return nil }

func TestProbeDone(t *testing.T) {
	start := time.Now()
	res := probeDone(state.HealthResult{Start: start}, probeExit{code: 3}, "out")
	if res.ExitCode != 3 || res.Output != "out" || res.Start != start || res.End.Before(start) {
		t.Fatalf("probeDone = %+v", res)
	}
	res = probeDone(state.HealthResult{Start: start}, probeExit{code: 0, err: errors.New("wait: broken")}, "out")
	if res.ExitCode != -1 || res.Output != "wait: broken" {
		t.Fatalf("probeDone with a wait error = %+v", res)
	}
}

func TestNewServerDefaults(t *testing.T) {
	s := newServer(Config{Root: t.TempDir(), RunDir: t.TempDir(), Project: "p"})
	if s.cfg.IdleExit != time.Second || s.cfg.Logf == nil {
		t.Fatalf("IdleExit = %v, Logf set = %v; want 1s and a no-op", s.cfg.IdleExit, s.cfg.Logf != nil)
	}
	if s.paths != PathsFor(s.cfg.RunDir, "p") {
		t.Fatalf("paths = %+v", s.paths)
	}
	s = newServer(Config{IdleExit: -1, Project: "p"})
	if s.cfg.IdleExit != -1 {
		t.Fatalf("IdleExit = %v, want the one given", s.cfg.IdleExit)
	}
}
