package events

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/engine/state"
)

// Actions of container events, with Docker's names.
const (
	ActionCreate       = "create"
	ActionStart        = "start"
	ActionDie          = "die"
	ActionHealthStatus = "health_status"
	ActionStop         = "stop"
	ActionDestroy      = "destroy"
	ActionKill         = "kill"
	ActionPause        = "pause"
	ActionUnpause      = "unpause"
	ActionRestart      = "restart"
)

// TypeContainer is the type of every event berth records today.
const TypeContainer = "container"

// Attribute keys, as Docker names them.
const (
	AttrExitCode     = "exitCode"
	AttrHealthStatus = "health_status"
	AttrImage        = "image"
	AttrName         = "name"
	AttrSignal       = "signal"
)

// DefaultMaxSize is the size past which the log rotates to events.jsonl.1.
const DefaultMaxSize = 8 << 20

// FileName is the log's file name in the state root.
const FileName = "events.jsonl"

// Event is one line of the log.
type Event struct {
	Time       time.Time         `json:"time"`
	Type       string            `json:"type"`
	Action     string            `json:"action"`
	ID         string            `json:"id"`
	Name       string            `json:"name,omitempty"`
	Project    string            `json:"project,omitempty"`
	Service    string            `json:"service,omitempty"`
	Attributes map[string]string `json:"attributes,omitempty"`
}

// Filter selects events. Zero fields match everything.
type Filter struct {
	Project  string
	Services []string
	Since    time.Time // events at or after
	Until    time.Time // events at or before; Follow returns once it is past
}

// Match reports whether e passes the filter.
func (f Filter) Match(e Event) bool {
	if f.Project != "" && e.Project != f.Project {
		return false
	}
	if len(f.Services) > 0 && !slices.Contains(f.Services, e.Service) {
		return false
	}
	if !f.Since.IsZero() && e.Time.Before(f.Since) {
		return false
	}
	if !f.Until.IsZero() && e.Time.After(f.Until) {
		return false
	}
	return true
}

// Log is the event log of one state root. It holds no open file: every
// call opens what it needs, so a Log is safe for concurrent use and cheap
// to make.
type Log struct {
	path    string // events.jsonl
	lock    string // events.lock, flocked by writers (exclusive) and snapshots (shared)
	maxSize int64
	poll    time.Duration
}

// Opt configures a Log.
type Opt func(*Log)

// WithMaxSize sets the size past which the log rotates (default 8 MiB).
func WithMaxSize(n int64) Opt { return func(l *Log) { l.maxSize = n } }

// WithPollInterval sets how often Follow looks for new lines (default 100ms).
func WithPollInterval(d time.Duration) Opt { return func(l *Log) { l.poll = d } }

// New returns the event log of a berth state root.
func New(root string, opts ...Opt) *Log {
	l := &Log{
		path:    filepath.Join(root, FileName),
		lock:    filepath.Join(root, "events.lock"),
		maxSize: DefaultMaxSize,
		poll:    100 * time.Millisecond,
	}
	for _, o := range opts {
		o(l)
	}
	return l
}

// Path is the log's current file.
func (l *Log) Path() string { return l.path }

// Emit appends one event. A zero Time becomes now, an empty Type
// "container". The line is written with one write(2) on an O_APPEND file
// while holding the log's flock, so lines from concurrent goroutines and
// processes never interleave, and rotation never loses one.
func (l *Log) Emit(e Event) error {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	e.Time = e.Time.UTC()
	if e.Type == "" {
		e.Type = TypeContainer
	}
	line, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("event %s %s: %w", e.Action, e.ID, err)
	}
	line = append(line, '\n')
	unlock, err := l.flock(unix.LOCK_EX)
	if err != nil {
		return err
	}
	defer unlock()
	if st, err := os.Stat(l.path); err == nil && st.Size() > 0 && st.Size()+int64(len(line)) > l.maxSize {
		if err := os.Rename(l.path, l.path+".1"); err != nil {
			return fmt.Errorf("rotate event log: %w", err)
		}
	}
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("event log: %w", err)
	}
	if _, err := f.Write(line); err != nil {
		f.Close()
		return fmt.Errorf("event log %s: %w", l.path, err)
	}
	return f.Close()
}

// flock takes the log's lock file in mode (LOCK_EX or LOCK_SH). flock
// locks belong to the open file description, so each call's own open
// excludes other goroutines of this process as well as other processes.
func (l *Log) flock(mode int) (func(), error) {
	if err := os.MkdirAll(filepath.Dir(l.lock), 0o711); err != nil {
		return nil, fmt.Errorf("event log: %w", err)
	}
	f, err := os.OpenFile(l.lock, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("event log lock: %w", err)
	}
	for {
		err = unix.Flock(int(f.Fd()), mode)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("event log lock %s: %w", l.lock, err)
	}
	return func() { f.Close() }, nil // closing releases the lock
}

// Read returns the events of the log (rotated file included) that pass
// the filter, oldest first.
func (l *Log) Read(f Filter) ([]Event, error) {
	var out []Event
	collect := func(e Event) error {
		if f.Match(e) {
			out = append(out, e)
		}
		return nil
	}
	unlock, err := l.flock(unix.LOCK_SH)
	if err != nil {
		return nil, err
	}
	defer unlock()
	for _, p := range []string{l.path + ".1", l.path} {
		if err := readFile(p, collect); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// readFile passes every whole event line of a file to fn; a missing
// file has none.
func readFile(path string, fn func(Event) error) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("event log: %w", err)
	}
	defer f.Close()
	var t tail
	return t.drain(f, fn)
}

// tail reads whole lines from a file that is being appended to.
type tail struct {
	pending []byte // an incomplete last line, kept until its newline comes
	buf     []byte
}

// drain reads f to its current end and passes each complete, decodable
// line to fn. A line a crash left torn is skipped.
func (t *tail) drain(f io.Reader, fn func(Event) error) error {
	if t.buf == nil {
		t.buf = make([]byte, 64<<10)
	}
	for {
		n, err := f.Read(t.buf)
		if n > 0 {
			t.pending = append(t.pending, t.buf[:n]...)
			for {
				i := bytes.IndexByte(t.pending, '\n')
				if i < 0 {
					break
				}
				line := t.pending[:i]
				var e Event
				if json.Unmarshal(line, &e) == nil {
					if err := fn(e); err != nil {
						return err
					}
				}
				t.pending = t.pending[i+1:]
			}
			if len(t.pending) == 0 {
				t.pending = nil // let the buffer go
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("event log: %w", err)
		}
	}
}

// Follow passes to fn the events that pass the filter: first those
// already logged at or after f.Since (none when Since is zero, as
// `docker events` without --since shows only new ones), then new events
// as they are appended, following the log across rotation. It returns nil
// once f.Until is past, ctx's error when ctx ends, or fn's error.
func (l *Log) Follow(ctx context.Context, f Filter, fn func(Event) error) error {
	match := func(e Event) error {
		if f.Match(e) {
			return fn(e)
		}
		return nil
	}
	cur, err := l.start(f, match)
	if err != nil {
		return err
	}
	defer func() {
		if cur != nil {
			cur.Close()
		}
	}()
	var t tail
	ticker := time.NewTicker(l.poll)
	defer ticker.Stop()
	for {
		past := !f.Until.IsZero() && time.Now().After(f.Until)
		if cur != nil {
			if err := t.drain(cur, match); err != nil {
				return err
			}
		}
		if past {
			return nil
		}
		next, rotated, err := l.reopen(cur)
		if err != nil {
			return err
		}
		if rotated {
			// No writer touches the old file after the rename: what is
			// left in it is all there will be.
			if cur != nil {
				if err := t.drain(cur, match); err != nil {
					next.Close()
					return err
				}
				if err := l.missed(cur, match); err != nil {
					next.Close()
					return err
				}
				cur.Close()
			}
			cur, t = next, tail{}
			continue
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ticker.C:
		}
	}
}

// start opens the current file under the shared lock (so no rotation
// happens meanwhile) and, with f.Since set, replays what is logged;
// otherwise it positions at the end.
func (l *Log) start(f Filter, fn func(Event) error) (*os.File, error) {
	unlock, err := l.flock(unix.LOCK_SH)
	if err != nil {
		return nil, err
	}
	defer unlock()
	cur, err := os.Open(l.path)
	if errors.Is(err, os.ErrNotExist) {
		cur = nil
	} else if err != nil {
		return nil, fmt.Errorf("event log: %w", err)
	}
	if f.Since.IsZero() {
		if cur != nil {
			if _, err := cur.Seek(0, io.SeekEnd); err != nil {
				cur.Close()
				return nil, fmt.Errorf("event log: %w", err)
			}
		}
		return cur, nil
	}
	if err := readFile(l.path+".1", fn); err != nil {
		if cur != nil {
			cur.Close()
		}
		return nil, err
	}
	if cur != nil {
		var t tail
		if err := t.drain(cur, fn); err != nil {
			cur.Close()
			return nil, err
		}
	}
	return cur, nil
}

// reopen reports whether the log's path now names another file than cur
// (rotated, or created since), and opens it if so.
func (l *Log) reopen(cur *os.File) (*os.File, bool, error) {
	st, err := os.Stat(l.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, false, nil // rotated but not yet written again: wait
	}
	if err != nil {
		return nil, false, fmt.Errorf("event log: %w", err)
	}
	if cur != nil {
		cst, err := cur.Stat()
		if err != nil {
			return nil, false, fmt.Errorf("event log: %w", err)
		}
		if os.SameFile(st, cst) {
			return nil, false, nil
		}
	}
	next, err := os.Open(l.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("event log: %w", err)
	}
	return next, true, nil
}

// missed replays events.jsonl.1 when it is not the file Follow was
// reading: the log rotated twice between two polls, and .1 holds lines
// Follow never saw.
func (l *Log) missed(old *os.File, fn func(Event) error) error {
	st, err := os.Stat(l.path + ".1")
	if err != nil {
		return nil
	}
	ost, err := old.Stat()
	if err != nil || os.SameFile(st, ost) {
		return nil
	}
	return readFile(l.path+".1", fn)
}

// ParseTime reads a --since/--until value as Docker does: RFC 3339 (with
// or without zone or fraction), a date, a Unix timestamp with optional
// fraction, or a Go duration meaning that long before now ("10m").
func ParseTime(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	if sec, frac, _ := strings.Cut(s, "."); isDigits(sec) && (frac == "" || isDigits(frac)) {
		n, err := strconv.ParseInt(sec, 10, 64)
		if err == nil {
			var ns int64
			if frac != "" {
				ns, _ = strconv.ParseInt((frac + "000000000")[:9], 10, 64)
			}
			return time.Unix(n, ns), nil
		}
	}
	return time.Time{}, fmt.Errorf("bad time %q: want RFC 3339, a Unix timestamp, or a duration such as 10m", s)
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// Text formats an event as `docker compose events` prints it:
// `2006-01-02 15:04:05.000000 container start <id> (image=…, name=…)`.
func Text(e Event) string {
	attrs := Attributes(e)
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + attrs[k]
	}
	typ := e.Type
	if typ == "" {
		typ = TypeContainer
	}
	return fmt.Sprintf("%s %s %s %s (%s)", e.Time.Local().Format("2006-01-02 15:04:05.000000"), typ, e.Action, e.ID, strings.Join(parts, ", "))
}

// Attributes are the event's attributes with its name added, as Compose
// shows them.
func Attributes(e Event) map[string]string {
	out := make(map[string]string, len(e.Attributes)+1)
	for k, v := range e.Attributes {
		out[k] = v
	}
	if e.Name != "" {
		out[AttrName] = e.Name
	}
	return out
}

// ComposeJSON is an event in `docker compose events --json`'s shape.
type ComposeJSON struct {
	Time       string            `json:"time"`
	Type       string            `json:"type"`
	Action     string            `json:"action"`
	ID         string            `json:"id"`
	Service    string            `json:"service"`
	Attributes map[string]string `json:"attributes"`
}

// Compose returns the event in `docker compose events --json`'s shape.
func Compose(e Event) ComposeJSON {
	typ := e.Type
	if typ == "" {
		typ = TypeContainer
	}
	return ComposeJSON{
		Time:       e.Time.Format(time.RFC3339Nano),
		Type:       typ,
		Action:     e.Action,
		ID:         e.ID,
		Service:    e.Service,
		Attributes: Attributes(e),
	}
}

// ForContainer is the event of an action on a container, with its name,
// project, service and image filled in from its record; attrs are extra
// key, value pairs (AttrExitCode, "0", …).
func ForContainer(action string, c *state.Container, attrs ...string) Event {
	e := Event{
		Type:       TypeContainer,
		Action:     action,
		ID:         c.ID,
		Name:       c.Name,
		Project:    c.Project,
		Service:    c.Service,
		Attributes: map[string]string{AttrImage: c.Image},
	}
	for i := 0; i+1 < len(attrs); i += 2 {
		e.Attributes[attrs[i]] = attrs[i+1]
	}
	return e
}
