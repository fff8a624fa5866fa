package logs

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/docker/go-units"
)

// Entry is one log line, as Docker's json-file driver writes it.
type Entry struct {
	Log    string    `json:"log"`
	Stream string    `json:"stream"`
	Time   time.Time `json:"time"`
}

// Options bound a log's size: at most MaxFiles files of MaxSize bytes.
type Options struct {
	MaxSize  int64
	MaxFiles int
}

// Default limits: compose users rarely set them, and an unbounded log on
// a development machine fills the disk.
const (
	DefaultMaxSize  = 20 << 20
	DefaultMaxFiles = 3
)

// ParseOptions reads compose's `logging.options` (max-size like "10m",
// max-file like "3"); missing values take the defaults.
func ParseOptions(opts map[string]string) (Options, error) {
	o := Options{MaxSize: DefaultMaxSize, MaxFiles: DefaultMaxFiles}
	if v, ok := opts["max-size"]; ok && v != "" && v != "-1" {
		n, err := parseSize(v)
		if err != nil {
			return o, fmt.Errorf("logging option max-size %q: %w", v, err)
		}
		o.MaxSize = n
	}
	if v, ok := opts["max-file"]; ok && v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return o, fmt.Errorf("logging option max-file %q: want a whole number of at least 1", v)
		}
		o.MaxFiles = n
	}
	return o, nil
}

// parseSize reads max-size as Docker's json-file driver does
// (units.FromHumanSize: decimal, "10m" is 10,000,000 bytes).
func parseSize(s string) (int64, error) {
	n, err := units.FromHumanSize(s)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("want a positive size like 10m or 512k")
	}
	return n, nil
}

// Writer appends entries to a log file, rotating it to path.1 … path.N-1
// when it grows past MaxSize. It is safe for concurrent use by the
// stdout and stderr copiers of one container.
//
// A full disk never stops it for good: an entry that cannot be written is
// dropped whole (a partial write is cut off again), the drops are counted,
// and the next entry that fits is preceded by a note of how many were lost.
type Writer struct {
	path string
	opts Options
	now  func() time.Time
	// openFile opens the log for appending and returns its size; tests
	// replace it to fail like a full disk.
	openFile func(path string) (logFile, int64, error)
	report   func(msg string)

	mu      sync.Mutex
	f       logFile // nil after a failed reopen: retried on the next entry
	size    int64
	closed  bool
	dropped int   // entries lost since the last one written
	dropErr error // why the first of them was lost
}

// logFile is what Writer needs of the open log.
type logFile interface {
	Write(p []byte) (int, error)
	Truncate(size int64) error
	Close() error
}

func openAppend(path string) (logFile, int64, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return nil, 0, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, st.Size(), nil
}

// NewWriter opens (appending) the log at path.
func NewWriter(path string, o Options) (*Writer, error) {
	return newWriter(path, o, openAppend)
}

func newWriter(path string, o Options, open func(string) (logFile, int64, error)) (*Writer, error) {
	if o.MaxSize <= 0 {
		o.MaxSize = DefaultMaxSize
	}
	if o.MaxFiles < 1 {
		o.MaxFiles = DefaultMaxFiles
	}
	w := &Writer{path: path, opts: o, now: time.Now, openFile: open}
	if err := w.open(); err != nil {
		return nil, err
	}
	return w, nil
}

// SetReporter makes the writer tell report when it starts dropping
// entries and when it writes again (the supervisor logs both).
func (w *Writer) SetReporter(report func(msg string)) {
	w.mu.Lock()
	w.report = report
	w.mu.Unlock()
}

func (w *Writer) open() error {
	f, size, err := w.openFile(w.path)
	if err != nil {
		return err
	}
	w.f, w.size = f, size
	return nil
}

// Write records one line of a stream. An error means the line was
// dropped (and counted); the writer stays usable.
func (w *Writer) Write(stream, line string) error {
	data, err := w.entry(stream, line)
	if err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return os.ErrClosed
	}
	if w.dropped > 0 {
		// The note goes in the same write(2) as the entry: both or neither.
		note, _ := w.entry("stderr", fmt.Sprintf("berth: %d lines dropped: %v\n", w.dropped, w.dropErr))
		data = append(note, data...)
	}
	if err := w.writeLocked(data); err != nil {
		w.dropLocked(err)
		return err
	}
	if w.dropped > 0 {
		w.reportLocked(fmt.Sprintf("%s: logging again; %d lines dropped: %v", w.path, w.dropped, w.dropErr))
		w.dropped, w.dropErr = 0, nil
	}
	return nil
}

func (w *Writer) entry(stream, line string) ([]byte, error) {
	data, err := json.Marshal(Entry{Log: line, Stream: stream, Time: w.now().UTC()})
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}

// writeLocked appends data in one write; on a short write the file is cut
// back to its previous size, so no torn JSON line is left behind.
func (w *Writer) writeLocked(data []byte) error {
	if w.f == nil {
		if err := w.open(); err != nil {
			return err
		}
	}
	if w.size+int64(len(data)) > w.opts.MaxSize && w.size > 0 {
		if err := w.rotate(); err != nil {
			return err
		}
	}
	n, err := w.f.Write(data)
	if err != nil {
		if n > 0 {
			if terr := w.f.Truncate(w.size); terr != nil {
				// The torn tail cannot be cut: reopen (and re-stat) later.
				w.f.Close()
				w.f = nil
			}
		}
		return err
	}
	w.size += int64(n)
	return nil
}

func (w *Writer) dropLocked(err error) {
	if w.dropped == 0 {
		w.dropErr = err
		w.reportLocked(fmt.Sprintf("%s: dropping log lines: %v", w.path, err))
	}
	w.dropped++
}

func (w *Writer) reportLocked(msg string) {
	if w.report != nil {
		w.report(msg)
	}
}

func (w *Writer) rotate() error {
	w.f.Close()
	w.f = nil
	if w.opts.MaxFiles == 1 {
		if err := os.Truncate(w.path, 0); err != nil {
			return err
		}
		return w.open()
	}
	for i := w.opts.MaxFiles - 1; i >= 1; i-- {
		src := w.path
		if i > 1 {
			src = fmt.Sprintf("%s.%d", w.path, i-1)
		}
		if err := os.Rename(src, fmt.Sprintf("%s.%d", w.path, i)); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	return w.open()
}

// Close closes the file; later entries are refused.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	return err
}

// Copy reads r line by line into the log as stream until EOF or a read
// error. A line longer than 16 KiB is split, as Docker does. A line that
// cannot be written is dropped and reading goes on: the pipe is always
// drained, so a full disk neither blocks the container nor, by closing
// the pipe, kills it with SIGPIPE.
func (w *Writer) Copy(stream string, r io.Reader) error {
	br := bufio.NewReaderSize(r, 16*1024)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			_ = w.Write(stream, string(line)) // counted by Write when dropped
		}
		switch err {
		case nil, bufio.ErrBufferFull:
			continue
		case io.EOF:
			return nil
		default:
			return err
		}
	}
}
