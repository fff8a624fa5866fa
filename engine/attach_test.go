package engine

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/berth-dev/berth/engine/logs"
	"github.com/berth-dev/berth/engine/state"
)

// fakeContainer writes a record, a state and one log line, as create and
// the supervisor would.
func fakeContainer(t *testing.T, e *Engine, id, service string, number int, line string) *state.Container {
	t.Helper()
	c := &state.Container{ID: id, Project: "p", Service: service, Number: number, Name: "p-" + service}
	if err := e.store.Put(c); err != nil {
		t.Fatal(err)
	}
	if err := e.store.PutState(id, &state.RuntimeState{Status: state.StatusRunning}); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(logs.Entry{Log: line + "\n", Stream: "stdout", Time: time.Now()})
	if err := os.WriteFile(e.store.LogPath(id), append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestAttachJoinsNewContainers: with Join, containers that appear while
// Attach runs are followed from the start of their logs; Attach ends when
// no watched container runs, whatever the others do.
func TestAttachJoinsNewContainers(t *testing.T) {
	dir := t.TempDir()
	e, err := New(filepath.Join(dir, "root"), filepath.Join(dir, "run"))
	if err != nil {
		t.Fatal(err)
	}
	a := fakeContainer(t, e, "aaaa", "a", 1, "from-a")
	lines := make(chan string, 10)
	done := make(chan error, 1)
	go func() {
		done <- e.Attach(t.Context(), []*state.Container{a}, AttachOptions{
			Project: "p",
			Join:    func(c *state.Container) bool { return c.Service == "b" },
			Watched: func(c *state.Container) bool { return c.Service == "a" },
		}, func(l LogLine) { lines <- l.Service + ":" + l.Log })
	}()
	want := func(s string) {
		t.Helper()
		select {
		case got := <-lines:
			if got != s {
				t.Fatalf("line %q, want %q", got, s)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no line %q", s)
		}
	}
	want("a:from-a\n")
	fakeContainer(t, e, "bbbb", "b", 1, "from-b")
	fakeContainer(t, e, "cccc", "c", 1, "from-c") // not joined
	want("b:from-b\n")
	e.store.PutState(a.ID, &state.RuntimeState{Status: state.StatusExited})
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Attach went on after the only watched container exited")
	}
	select {
	case l := <-lines:
		t.Errorf("unexpected line %q", l)
	default:
	}
}

// TestAttachWaitsForStopped: with WaitForStopped, a container stopped
// when Attach begins keeps it going until it has run again and stopped.
func TestAttachWaitsForStopped(t *testing.T) {
	dir := t.TempDir()
	e, err := New(filepath.Join(dir, "root"), filepath.Join(dir, "run"))
	if err != nil {
		t.Fatal(err)
	}
	c := fakeContainer(t, e, "jjjj", "job", 1, "first run")
	first := time.Now().Add(-time.Minute)
	e.store.PutState(c.ID, &state.RuntimeState{Status: state.StatusExited, StartedAt: first})
	done := make(chan error, 1)
	go func() {
		done <- e.Attach(t.Context(), []*state.Container{c}, AttachOptions{WaitForStopped: true}, func(LogLine) {})
	}()
	select {
	case <-done:
		t.Fatal("Attach ended though its only container had not run again")
	case <-time.After(time.Second):
	}
	// it runs again and exits between two looks: a new start time tells
	e.store.PutState(c.ID, &state.RuntimeState{Status: state.StatusExited, StartedAt: time.Now()})
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Attach went on after the container ran again and stopped")
	}
}
