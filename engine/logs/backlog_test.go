package logs

import (
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// seqOf is a sequence of lines of prefix at the given seconds after t0.
func seqOf(prefix string, secs ...int) iter.Seq[Line] {
	return func(yield func(Line) bool) {
		for i, s := range secs {
			e := Entry{Log: fmt.Sprintf("%s%d", prefix, i), Time: t0.Add(time.Duration(s) * time.Second)}
			if !yield(Line{Entry: e, Prefix: prefix}) {
				return
			}
		}
	}
}

func texts(seq iter.Seq[Line]) string {
	var out []string
	for l := range seq {
		out = append(out, l.Log)
	}
	return strings.Join(out, ",")
}

func TestInterleave(t *testing.T) {
	for _, tc := range []struct {
		name string
		seqs []iter.Seq[Line]
		want string
	}{
		{"none", nil, ""},
		{"one", []iter.Seq[Line]{seqOf("a", 1, 2)}, "a0,a1"},
		{"empty among others", []iter.Seq[Line]{seqOf("a"), seqOf("b", 1)}, "b0"},
		// the init-container case: foo wrote and exited before bar began,
		// but bar is read first
		{"one after the other", []iter.Seq[Line]{seqOf("bar", 5, 6), seqOf("foo", 1, 2)}, "foo0,foo1,bar0,bar1"},
		{"alternating", []iter.Seq[Line]{seqOf("a", 1, 3, 5), seqOf("b", 2, 4)}, "a0,b0,a1,b1,a2"},
		{"equal times keep the sequences' order", []iter.Seq[Line]{seqOf("a", 1, 1), seqOf("b", 1)}, "a0,a1,b0"},
		// a clock that stepped back within one log: a container's own
		// lines never swap
		{"one log out of order", []iter.Seq[Line]{seqOf("a", 3, 1), seqOf("b", 2)}, "b0,a0,a1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := texts(Interleave(tc.seqs...)); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestInterleaveStops: a consumer that stops early ends the merge and
// every sequence it pulled from.
func TestInterleaveStops(t *testing.T) {
	stopped := 0
	counted := func(s iter.Seq[Line]) iter.Seq[Line] {
		return func(yield func(Line) bool) {
			defer func() { stopped++ }()
			s(yield)
		}
	}
	var got []string
	for l := range Interleave(counted(seqOf("a", 1, 3)), counted(seqOf("b", 2, 4))) {
		got = append(got, l.Log)
		if len(got) == 2 {
			break
		}
	}
	if !slices.Equal(got, []string{"a0", "b0"}) || stopped != 2 {
		t.Errorf("got %v with %d sequences stopped, want [a0 b0] and 2", got, stopped)
	}
}

func TestBacklog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c-json.log")
	w, err := NewWriter(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		w.Write("stdout", fmt.Sprintf("old %d\n", i))
	}
	st, _ := os.Stat(path)
	offset := st.Size()
	for i := range 2 {
		w.Write("stdout", fmt.Sprintf("new %d\n", i))
	}
	w.Close()
	// a line being written: no newline yet
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"log":"half`)
	f.Close()
	whole, _ := os.Stat(path)

	read := func(offset int64) (string, int64) {
		t.Helper()
		b, err := OpenBacklog(path, offset)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		var got []string
		for l := range b.Lines("c-1") {
			if l.Prefix != "c-1" {
				t.Errorf("line of %q, want c-1", l.Prefix)
			}
			got = append(got, strings.TrimSpace(l.Log))
		}
		return strings.Join(got, ","), b.Offset()
	}
	full := whole.Size() - int64(len(`{"log":"half`))
	if got, end := read(offset); got != "new 0,new 1" || end != full {
		t.Errorf("from the offset: %q up to %d, want the two new lines up to %d (the half line left to the follower)", got, end, full)
	}
	if got, _ := read(0); got != "old 0,old 1,old 2,new 0,new 1" {
		t.Errorf("from 0: %q", got)
	}
	// rotated since the offset was taken: the new file from its top
	if got, end := read(whole.Size() + 100); got != "old 0,old 1,old 2,new 0,new 1" || end != full {
		t.Errorf("offset past the end: %q up to %d, want all up to %d", got, end, full)
	}
	if got, end := read(full); got != "" || end != full {
		t.Errorf("at the end: %q up to %d", got, end)
	}
	// no log yet: nothing, and the follower starts where it was told
	b, err := OpenBacklog(filepath.Join(t.TempDir(), "none"), 7)
	if err != nil || texts(b.Lines("x")) != "" || b.Offset() != 7 {
		t.Errorf("missing log: %v, offset %d", err, b.Offset())
	}
	b.Close()
}
