package engine

import (
	"bytes"
	"slices"
	"testing"

	"github.com/berth-dev/berth/engine/state"
)

// TestLineWriter: lines are passed on whole, without their newline,
// however the writes cut them; flush passes on a last unfinished line.
func TestLineWriter(t *testing.T) {
	for _, c := range []struct {
		name   string
		writes []string
		want   []string
	}{
		{"one write", []string{"a\nb\n"}, []string{"a", "b"}},
		{"split lines", []string{"st", "op hook", " running...\nnext", "\n"}, []string{"stop hook running...", "next"}},
		{"no newline at the end", []string{"a\nb"}, []string{"a", "b"}},
		{"crlf", []string{"a\r\n"}, []string{"a"}},
		{"empty lines", []string{"\n\n"}, []string{"", ""}},
		{"nothing", nil, nil},
	} {
		var got []string
		w := &lineWriter{fn: func(l string) { got = append(got, l) }}
		for _, s := range c.writes {
			if n, err := w.Write([]byte(s)); n != len(s) || err != nil {
				t.Errorf("%s: Write(%q) = %d, %v", c.name, s, n, err)
			}
		}
		w.flush()
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: lines %q, want %q", c.name, got, c.want)
		}
	}
}

// TestHookWriter: a hook's output goes to the buffer kept for its error
// and, with WithHookOutput, line by line to the container's sink.
func TestHookWriter(t *testing.T) {
	rec := &state.Container{Name: "p-web-1", Service: "web", Number: 1}
	var buf bytes.Buffer
	w, done := (&Engine{}).hookWriter(rec, &buf)
	w.Write([]byte("quiet\n"))
	done()
	if buf.String() != "quiet\n" {
		t.Errorf("without a sink: buffer %q", buf.String())
	}
	var got []string
	e := &Engine{}
	WithHookOutput(func(c *Container, l string) { got = append(got, c.Name+": "+l) })(e)
	buf.Reset()
	w, done = e.hookWriter(rec, &buf)
	w.Write([]byte("stop hook running...\nbye"))
	done()
	if want := []string{"p-web-1: stop hook running...", "p-web-1: bye"}; !slices.Equal(got, want) || buf.String() != "stop hook running...\nbye" {
		t.Errorf("with a sink: lines %q buffer %q; want %q and the whole output", got, buf.String(), want)
	}
}
