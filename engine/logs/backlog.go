package logs

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"iter"
	"os"
)

// Backlog is what one log file holds past an offset when it is opened: the
// lines a follower attaching now would otherwise get in one burst, before
// the lines of other containers written after them.
type Backlog struct {
	f      *os.File // nil: no log yet
	r      *bufio.Reader
	offset int64 // just past the last whole line read
}

// OpenBacklog opens path's entries from offset up to the file's current
// size. A file smaller than offset was rotated or truncated since: its
// backlog starts at its top, as Follow does. A missing file has none.
func OpenBacklog(path string, offset int64) (*Backlog, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return &Backlog{offset: offset}, nil
	}
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if st.Size() < offset {
		offset = 0
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	r := bufio.NewReaderSize(io.LimitReader(f, st.Size()-offset), 64*1024)
	return &Backlog{f: f, r: r, offset: offset}, nil
}

// Lines reads the backlog's whole lines in order, as coming from prefix;
// a line the writer has not finished yet is left for the follower. Lines
// that are not JSON are skipped, as Follow skips them.
func (b *Backlog) Lines(prefix string) iter.Seq[Line] {
	return func(yield func(Line) bool) {
		if b.f == nil {
			return
		}
		for {
			// ReadBytes fails only on a line without its newline: the
			// end, an error, or a line being written
			line, err := b.r.ReadBytes('\n')
			if err != nil {
				return
			}
			b.offset += int64(len(line))
			var e Entry
			if json.Unmarshal(line, &e) == nil && !yield(Line{Entry: e, Prefix: prefix}) {
				return
			}
		}
	}
}

// Offset is where following the log goes on: just past the last whole
// line Lines read.
func (b *Backlog) Offset() int64 { return b.offset }

// Close closes the file.
func (b *Backlog) Close() error {
	if b.f == nil {
		return nil
	}
	return b.f.Close()
}

// Interleave merges sequences of lines, each in time order, into one in
// time order; lines of equal time keep the order of their sequences, so a
// container's lines never swap. It reads each sequence only as far as the
// merge needs.
func Interleave(seqs ...iter.Seq[Line]) iter.Seq[Line] {
	return func(yield func(Line) bool) {
		type head struct {
			next func() (Line, bool)
			l    Line
			ok   bool
		}
		heads := make([]head, len(seqs))
		for i, s := range seqs {
			next, stop := iter.Pull(s)
			defer stop()
			l, ok := next()
			heads[i] = head{next, l, ok}
		}
		for {
			first := -1
			for i := range heads {
				if heads[i].ok && (first < 0 || heads[i].l.Time.Before(heads[first].l.Time)) {
					first = i
				}
			}
			if first < 0 || !yield(heads[first].l) {
				return
			}
			heads[first].l, heads[first].ok = heads[first].next()
		}
	}
}
