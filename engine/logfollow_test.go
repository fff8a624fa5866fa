package engine

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/engine/logs"
	"github.com/berth-dev/berth/engine/state"
)

// TestExitWatch: each exit is told once, restarts by policy included,
// and a container stopped at the start counts as running until it has
// run again.
func TestExitWatch(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	type look struct {
		st              state.RuntimeState
		running, exited bool
	}
	run := func(started, finished int) state.RuntimeState {
		st := state.RuntimeState{Status: state.StatusRunning, StartedAt: at(started)}
		if finished > 0 {
			st.FinishedAt = at(finished)
		}
		return st
	}
	exit := func(started, finished int) state.RuntimeState {
		return state.RuntimeState{Status: state.StatusExited, StartedAt: at(started), FinishedAt: at(finished)}
	}
	for _, tc := range []struct {
		name  string
		start *state.RuntimeState // atStart (WaitForStopped)
		looks []look
	}{
		{name: "runs then exits once", looks: []look{
			{run(1, 0), true, false}, {run(1, 0), true, false},
			{exit(1, 2), false, true}, {exit(1, 2), false, false},
		}},
		{name: "created, then runs", looks: []look{
			{state.RuntimeState{Status: state.StatusCreated}, true, false}, {run(1, 0), true, false},
		}},
		{name: "exited before the first look", looks: []look{
			{exit(1, 2), false, true}, {exit(1, 2), false, false},
		}},
		{name: "restarted by its policy between looks", looks: []look{
			{run(1, 0), true, false}, {run(3, 2), true, true}, {run(3, 2), true, false},
			{run(5, 4), true, true},
		}},
		{name: "exits, restarts, exits again", looks: []look{
			{run(1, 0), true, false}, {exit(1, 2), false, true}, {run(3, 2), true, false},
			{exit(3, 4), false, true},
		}},
		{name: "paused and restarting run", looks: []look{
			{state.RuntimeState{Status: state.StatusPaused}, true, false},
			{state.RuntimeState{Status: state.StatusRestarting}, true, false},
		}},
		{name: "stopped at the start waits to run again", start: ptr(exit(1, 2)), looks: []look{
			{exit(1, 2), true, false}, {exit(1, 2), true, false},
			{exit(3, 4), false, true}, // ran again between two looks
		}},
		{name: "stopped at the start, then runs and stops", start: ptr(exit(1, 2)), looks: []look{
			{exit(1, 2), true, false}, {run(3, 2), true, false}, {exit(3, 4), false, true},
		}},
		{name: "running at the start", start: ptr(run(1, 0)), looks: []look{
			{exit(1, 2), false, true},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newExitWatch()
			if tc.start != nil {
				w.atStart("c", tc.start)
			}
			for i, l := range tc.looks {
				running, exited := w.observe("c", &l.st)
				if running != l.running || exited != l.exited {
					t.Errorf("look %d (%s): running %v exited %v, want %v %v", i+1, l.st.Status, running, exited, l.running, l.exited)
				}
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// TestAttachReplaysInTimeOrder: what the logs hold when Attach begins is
// sent merged by time across the containers, whatever their order, and
// past their offsets only; what comes later is followed.
func TestAttachReplaysInTimeOrder(t *testing.T) {
	dir := t.TempDir()
	e, err := New(filepath.Join(dir, "root"), filepath.Join(dir, "run"))
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now().Add(-time.Minute)
	write := func(c *state.Container, secs ...int) {
		f, err := os.OpenFile(e.store.LogPath(c.ID), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		for _, s := range secs {
			b, _ := json.Marshal(logs.Entry{Log: c.Service + string(rune('0'+s)) + "\n", Stream: "stdout", Time: t0.Add(time.Duration(s) * time.Second)})
			f.Write(append(b, '\n'))
		}
	}
	// foo ran first, bar after it; bar is listed first
	foo := fakeContainer(t, e, "ffff", "foo", 1, "before")
	bar := fakeContainer(t, e, "bbbb", "bar", 1, "before")
	offsets := e.LogOffsets([]*state.Container{foo, bar})
	write(foo, 1, 2)
	write(bar, 3, 4)
	write(foo, 5)
	lines := make(chan string, 20)
	done := make(chan error, 1)
	go func() {
		done <- e.Attach(t.Context(), []*state.Container{bar, foo}, AttachOptions{Offsets: offsets},
			func(l LogLine) { lines <- strings.TrimSpace(l.Log) })
	}()
	var got []string
	next := func() {
		t.Helper()
		select {
		case l := <-lines:
			got = append(got, l)
		case <-time.After(10 * time.Second):
			t.Fatalf("lines so far %v: no more", got)
		}
	}
	for range 5 {
		next()
	}
	write(bar, 6)
	next()
	e.store.PutState(foo.ID, &state.RuntimeState{Status: state.StatusExited})
	e.store.PutState(bar.ID, &state.RuntimeState{Status: state.StatusExited})
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if want := "foo1,foo2,bar3,bar4,foo5,bar6"; strings.Join(got, ",") != want {
		t.Errorf("lines %v, want %s", got, want)
	}
}
