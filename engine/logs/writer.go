package logs

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
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

func parseSize(s string) (int64, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"gb", 1 << 30}, {"mb", 1 << 20}, {"kb", 1 << 10}, {"g", 1 << 30}, {"m", 1 << 20}, {"k", 1 << 10}, {"b", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSuffix(s, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("want a size like 10m or 512k")
	}
	return int64(n * float64(mult)), nil
}

// Writer appends entries to a log file, rotating it to path.1 … path.N-1
// when it grows past MaxSize. It is safe for concurrent use by the
// stdout and stderr copiers of one container.
type Writer struct {
	path string
	opts Options
	now  func() time.Time

	mu   sync.Mutex
	f    *os.File
	size int64
}

// NewWriter opens (appending) the log at path.
func NewWriter(path string, o Options) (*Writer, error) {
	if o.MaxSize <= 0 {
		o.MaxSize = DefaultMaxSize
	}
	if o.MaxFiles < 1 {
		o.MaxFiles = DefaultMaxFiles
	}
	w := &Writer{path: path, opts: o, now: time.Now}
	if err := w.open(); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *Writer) open() error {
	f, err := os.OpenFile(w.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	w.f, w.size = f, st.Size()
	return nil
}

// Write records one line of a stream.
func (w *Writer) Write(stream, line string) error {
	data, err := json.Marshal(Entry{Log: line, Stream: stream, Time: w.now().UTC()})
	if err != nil {
		return err
	}
	data = append(data, '\n')
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return os.ErrClosed
	}
	if w.size+int64(len(data)) > w.opts.MaxSize && w.size > 0 {
		if err := w.rotate(); err != nil {
			return err
		}
	}
	n, err := w.f.Write(data)
	w.size += int64(n)
	return err
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

// Close closes the file.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	return err
}

// Copy reads r line by line into the log as stream until EOF. A line
// longer than 16 KiB is split, as Docker does.
func (w *Writer) Copy(stream string, r io.Reader) error {
	br := bufio.NewReaderSize(r, 16*1024)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			if werr := w.Write(stream, string(line)); werr != nil {
				return werr
			}
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
