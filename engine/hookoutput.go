package engine

import (
	"bytes"
	"io"
	"sync"

	"github.com/berth-dev/berth/engine/state"
)

// WithHookOutput sends the output of the post_start and pre_stop hooks the
// engine runs to fn, line by line, as Compose relays it to an attached up
// while it starts and stops containers. Without it the output is kept only
// for the error of a failing hook.
func WithHookOutput(fn func(c *Container, line string)) Opt {
	return func(e *Engine) { e.hookOutput = fn }
}

// hookWriter is where a hook run in rec writes: buf, for the error of a
// failing hook, and, with WithHookOutput, the hook output line by line.
// Calling done passes on a last line without its newline.
func (e *Engine) hookWriter(rec *state.Container, buf *bytes.Buffer) (w io.Writer, done func()) {
	if e.hookOutput == nil {
		return buf, func() {}
	}
	lw := &lineWriter{fn: func(line string) { e.hookOutput(rec, line) }}
	return io.MultiWriter(buf, lw), lw.flush
}

// lineWriter calls fn with each line written to it, without its newline;
// a line split across writes is passed on whole. Safe for the two streams
// of one process writing at once.
type lineWriter struct {
	mu      sync.Mutex
	fn      func(line string)
	partial []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	rest := p
	for {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			break
		}
		line := rest[:i]
		if len(w.partial) > 0 {
			line = append(w.partial, line...)
			w.partial = w.partial[:0]
		}
		w.fn(string(bytes.TrimSuffix(line, []byte("\r"))))
		rest = rest[i+1:]
	}
	w.partial = append(w.partial, rest...)
	return len(p), nil
}

// flush passes on what was written after the last newline.
func (w *lineWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.partial) > 0 {
		w.fn(string(w.partial))
		w.partial = w.partial[:0]
	}
}
