package events

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/berth-dev/berth/engine/state"
)

func ev(action, id, service string) Event {
	return Event{Action: action, ID: id, Name: "p-" + service + "-1", Project: "p", Service: service,
		Attributes: map[string]string{AttrImage: "busybox"}}
}

// checkWholeLines fails unless every line of the files decodes as an event;
// it returns the number of lines.
func checkWholeLines(t *testing.T, paths ...string) int {
	t.Helper()
	n := 0
	for _, p := range paths {
		f, err := os.Open(p)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var e Event
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil || e.ID == "" {
				t.Fatalf("%s: torn line %q: %v", p, sc.Text(), err)
			}
			n++
		}
		f.Close()
	}
	return n
}

func TestEmitRead(t *testing.T) {
	root := t.TempDir()
	l := New(root)
	t0 := time.Now()
	for i, a := range []string{ActionCreate, ActionStart, ActionDie} {
		e := ev(a, "id"+strconv.Itoa(i), "web")
		e.Time = t0.Add(time.Duration(i) * time.Second)
		if err := l.Emit(e); err != nil {
			t.Fatal(err)
		}
	}
	other := ev(ActionStart, "x", "db")
	other.Project = "q"
	other.Time = t0
	if err := l.Emit(other); err != nil {
		t.Fatal(err)
	}
	all, err := l.Read(Filter{})
	if err != nil || len(all) != 4 {
		t.Fatalf("read all: %v %v", all, err)
	}
	if all[0].Type != TypeContainer || all[0].Time.Location() != time.UTC {
		t.Errorf("defaults: %+v", all[0])
	}
	got, _ := l.Read(Filter{Project: "p", Since: t0.Add(500 * time.Millisecond), Until: t0.Add(1500 * time.Millisecond)})
	if len(got) != 1 || got[0].Action != ActionStart {
		t.Errorf("since/until: %+v", got)
	}
	got, _ = l.Read(Filter{Services: []string{"db"}})
	if len(got) != 1 || got[0].Project != "q" {
		t.Errorf("services: %+v", got)
	}
}

func TestConcurrentGoroutines(t *testing.T) {
	root := t.TempDir()
	l := New(root, WithMaxSize(64<<10)) // small: rotation races with writers too
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				e := ev(ActionStart, fmt.Sprintf("g%d-%d", g, i), "web")
				e.Attributes["pad"] = strings.Repeat("x", 100+i)
				if err := l.Emit(e); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	checkWholeLines(t, l.Path(), l.Path()+".1")
	st, err := os.Stat(l.Path())
	if err != nil || st.Size() > 64<<10 {
		t.Errorf("not bounded: %v %v", st.Size(), err)
	}
}

// TestHelperEmitter is the child process of TestConcurrentProcesses.
func TestHelperEmitter(t *testing.T) {
	root := os.Getenv("BERTH_EVENTS_HELPER_ROOT")
	if root == "" {
		t.Skip("helper process only")
	}
	l := New(root)
	big := strings.Repeat("y", 6000) // larger than a pipe buffer page
	for i := range 300 {
		e := ev(ActionDie, fmt.Sprintf("%d-%d", os.Getpid(), i), "web")
		e.Attributes["big"] = big
		if err := l.Emit(e); err != nil {
			t.Fatal(err)
		}
	}
}

func TestConcurrentProcesses(t *testing.T) {
	root := t.TempDir()
	var cmds []*exec.Cmd
	for range 2 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperEmitter$", "-test.count=1")
		cmd.Env = append(os.Environ(), "BERTH_EVENTS_HELPER_ROOT="+root)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	t.Cleanup(func() {
		for _, c := range cmds {
			if c.ProcessState == nil {
				c.Process.Kill()
				c.Wait()
			}
		}
	})
	// This process writes too, at the same time.
	l := New(root)
	for i := range 300 {
		if err := l.Emit(ev(ActionStart, "parent-"+strconv.Itoa(i), "web")); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Fatalf("helper: %v", err)
		}
	}
	if n := checkWholeLines(t, l.Path()); n != 900 {
		t.Errorf("%d lines, want 900", n)
	}
}

// The Follow tests run in a synctest bubble: the poll ticker and the
// clock are fake, and synctest.Wait returns once Follow is parked on its
// ticker, so no test depends on how fast this machine is.

func TestFollow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		root := t.TempDir()
		l := New(root, WithPollInterval(10*time.Millisecond))
		old := ev(ActionCreate, "old", "web")
		old.Time = time.Now().Add(-time.Hour)
		if err := l.Emit(old); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		got := make(chan Event, 10)
		done := make(chan error, 1)
		go func() {
			done <- l.Follow(ctx, Filter{Project: "p", Services: []string{"web"}}, func(e Event) error {
				got <- e
				return nil
			})
		}()
		synctest.Wait() // Follow has sought to the end of the file and waits for its ticker
		l.Emit(ev(ActionStart, "db1", "db"))
		l.Emit(ev(ActionStart, "web1", "web"))
		time.Sleep(10 * time.Millisecond) // one poll
		synctest.Wait()
		select {
		case e := <-got:
			if e.ID != "web1" {
				t.Fatalf("followed %+v, want web1 only (no old, no db)", e)
			}
		default:
			t.Fatal("follow saw no new event after one poll")
		}
		if len(got) != 0 {
			t.Errorf("followed more: %+v", <-got)
		}
		cancel()
		if err := <-done; err != context.Canceled {
			t.Errorf("follow returned %v", err)
		}
	})
}

func TestFollowSinceUntil(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		root := t.TempDir()
		l := New(root, WithPollInterval(10*time.Millisecond))
		now := time.Now()
		for i, d := range []time.Duration{-time.Hour, -time.Minute, -time.Second} {
			e := ev(ActionStart, strconv.Itoa(i), "web")
			e.Time = now.Add(d)
			l.Emit(e)
		}
		var ids []string
		err := l.Follow(t.Context(), Filter{Since: now.Add(-2 * time.Minute), Until: now.Add(200 * time.Millisecond)}, func(e Event) error {
			ids = append(ids, e.ID)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(ids, ",") != "1,2" {
			t.Errorf("since/until replay: %v", ids)
		}
		if waited := time.Since(now); waited < 200*time.Millisecond || waited > 220*time.Millisecond {
			t.Errorf("Follow returned %v after start, want just past Until (200ms)", waited)
		}
	})
}

func TestRotation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const poll = 5 * time.Millisecond
		root := t.TempDir()
		l := New(root, WithMaxSize(2048), WithPollInterval(poll))
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		var mu sync.Mutex
		seen := map[string]bool{}
		done := make(chan error, 1)
		go func() {
			done <- l.Follow(ctx, Filter{}, func(e Event) error {
				mu.Lock()
				seen[e.ID] = true
				mu.Unlock()
				return nil
			})
		}()
		synctest.Wait()
		const n = 100 // ~150 bytes each: many rotations
		for i := range n {
			if err := l.Emit(ev(ActionStart, strconv.Itoa(i), "web")); err != nil {
				t.Fatal(err)
			}
			if i%10 == 0 && i != 50 {
				// let Follow poll: it catches some rotations as they
				// happen; from 40 to 60 the log rotates twice
				// between two polls
				time.Sleep(poll)
				synctest.Wait()
			}
		}
		if _, err := os.Stat(l.Path() + ".1"); err != nil {
			t.Fatalf("no rotated file: %v", err)
		}
		for _, p := range []string{l.Path(), l.Path() + ".1"} {
			if st, _ := os.Stat(p); st.Size() > 2048 {
				t.Errorf("%s is %d bytes, over the bound", p, st.Size())
			}
		}
		// What is still on disk can be read back whole.
		all, err := l.Read(Filter{})
		if err != nil || len(all) == 0 || all[len(all)-1].ID != strconv.Itoa(n-1) {
			t.Fatalf("read after rotation: %d events, %v", len(all), err)
		}
		time.Sleep(poll) // one last poll reads the rest
		synctest.Wait()
		mu.Lock()
		var missing []int
		for i := range n {
			if !seen[strconv.Itoa(i)] {
				missing = append(missing, i)
			}
		}
		mu.Unlock()
		if len(missing) > 0 {
			t.Fatalf("follow across rotation missed %v", missing)
		}
		cancel()
		<-done
	})
}

func TestParseTime(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"10m":                       now.Add(-10 * time.Minute),
		"2026-11-23T09:00:00Z":      time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC),
		"1700000000":                time.Unix(1700000000, 0),
		"1700000000.5":              time.Unix(1700000000, 500000000),
		"2026-11-23T09:00:00+01:00": time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC),
	} {
		got, err := ParseTime(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParseTime("yesterday", now); err == nil {
		t.Error("bad time accepted")
	}
}

func TestFormats(t *testing.T) {
	e := ev(ActionDie, "abc", "web")
	e.Time = time.Date(2026, 11, 23, 10, 0, 0, 123456789, time.Local)
	e.Attributes[AttrExitCode] = "3"
	if got, want := Text(e), "2026-11-23 10:00:00.123456 container die abc (exitCode=3, image=busybox, name=p-web-1)"; got != want {
		t.Errorf("text:\n got %s\nwant %s", got, want)
	}
	b, _ := json.Marshal(Compose(e))
	var m map[string]any
	json.Unmarshal(b, &m)
	for _, k := range []string{"time", "type", "action", "id", "service", "attributes"} {
		if _, ok := m[k]; !ok {
			t.Errorf("compose json lacks %q: %s", k, b)
		}
	}
	if len(m) != 6 {
		t.Errorf("compose json has extra keys: %s", b)
	}
}

func TestForContainer(t *testing.T) {
	rec := &state.Container{ID: "c1", Name: "p-web-1", Project: "p", Service: "web", Image: "busybox:1.36"}
	e := ForContainer(ActionDie, rec, AttrExitCode, "137")
	if e.ID != "c1" || e.Name != "p-web-1" || e.Project != "p" || e.Service != "web" || e.Type != TypeContainer ||
		e.Attributes[AttrImage] != "busybox:1.36" || e.Attributes[AttrExitCode] != "137" {
		t.Errorf("%+v", e)
	}
}
