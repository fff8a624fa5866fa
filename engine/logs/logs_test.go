package logs

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestWriteReadRotate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c-json.log")
	w, err := NewWriter(path, Options{MaxSize: 300, MaxFiles: 3})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 40; i++ {
		if err := w.Write("stdout", fmt.Sprintf("line %d\n", i)); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	if _, err := os.Stat(path + ".3"); err == nil {
		t.Error("more files kept than max-file")
	}
	for _, f := range []string{path, path + ".1", path + ".2"} {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if st.Size() > 300 {
			t.Errorf("%s is %d bytes, over max-size", f, st.Size())
		}
	}
	es, err := ReadAll(path, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) == 0 || es[len(es)-1].Log != "line 39\n" {
		t.Fatalf("last entry %v", es[len(es)-1])
	}
	for i := 1; i < len(es); i++ {
		var a, b int
		fmt.Sscanf(es[i-1].Log, "line %d", &a)
		fmt.Sscanf(es[i].Log, "line %d", &b)
		if b != a+1 {
			t.Fatalf("entries out of order: %q then %q", es[i-1].Log, es[i].Log)
		}
	}
}

func TestCopySplitsStreams(t *testing.T) {
	path := filepath.Join(t.TempDir(), "l")
	w, _ := NewWriter(path, Options{})
	w.Copy("stderr", strings.NewReader("a\nb\nno newline"))
	w.Close()
	es, _ := ReadAll(path, 1)
	if len(es) != 3 || es[0].Log != "a\n" || es[2].Log != "no newline" || es[1].Stream != "stderr" {
		t.Fatalf("entries %+v", es)
	}
}

func TestMergeByTime(t *testing.T) {
	dir := t.TempDir()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	mk := func(name string, secs ...int) string {
		p := filepath.Join(dir, name)
		w, _ := NewWriter(p, Options{})
		for _, s := range secs {
			w.now = func() time.Time { return base.Add(time.Duration(s) * time.Second) }
			w.Write("stdout", fmt.Sprintf("%s %d\n", name, s))
		}
		w.Close()
		return p
	}
	a, b := mk("a", 1, 3, 5), mk("b", 2, 4)
	ls, err := Merge([]Source{{"a-1", a}, {"b-1", b}}, Filter{Tail: -1})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range ls {
		got = append(got, strings.TrimSpace(l.Log))
	}
	if strings.Join(got, ",") != "a 1,b 2,a 3,b 4,a 5" {
		t.Errorf("merged %v", got)
	}
	ls, _ = Merge([]Source{{"a-1", a}, {"b-1", b}}, Filter{Tail: 1})
	if len(ls) != 2 {
		t.Errorf("tail 1 per source gave %d lines", len(ls))
	}
	ls, _ = Merge([]Source{{"a-1", a}}, Filter{Tail: -1, Since: base.Add(2 * time.Second), Until: base.Add(5 * time.Second)})
	if len(ls) != 1 || !strings.HasPrefix(ls[0].Log, "a 3") {
		t.Errorf("since/until gave %v", ls)
	}
}

func TestFollow(t *testing.T) {
	path := filepath.Join(t.TempDir(), "l")
	w, _ := NewWriter(path, Options{MaxSize: 200, MaxFiles: 2})
	defer w.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	out := make(chan Entry, 100)
	go Follow(ctx, path, 0, out)
	// each line is written once the previous one arrived, so the follower
	// is always on the current file when rotation happens
	for i := 0; i < 20; i++ {
		want := fmt.Sprintf("n%d\n", i)
		w.Write("stdout", want)
		select {
		case e := <-out:
			if e.Log != want {
				t.Fatalf("got %q, want %q", e.Log, want)
			}
		case <-ctx.Done():
			t.Fatalf("line %d not followed across rotation", i)
		}
	}
}

// TestParseOptionsSizes checks max-size is read as Docker's json-file
// driver reads it (go-units' FromHumanSize: decimal units).
func TestParseOptionsSizes(t *testing.T) {
	for in, want := range map[string]int64{"10m": 10_000_000, "512k": 512_000, "1.5MB": 1_500_000, "1g": 1_000_000_000, "300": 300} {
		o, err := ParseOptions(map[string]string{"max-size": in})
		if err != nil || o.MaxSize != want {
			t.Errorf("max-size %q: %d, %v; want %d", in, o.MaxSize, err, want)
		}
	}
	for _, in := range []string{"0", "ten", "-5m"} {
		if _, err := ParseOptions(map[string]string{"max-size": in}); err == nil {
			t.Errorf("max-size %q: no error", in)
		}
	}
	if o, err := ParseOptions(nil); err != nil || o.MaxSize != DefaultMaxSize || o.MaxFiles != DefaultMaxFiles {
		t.Errorf("defaults: %+v, %v", o, err)
	}
}
