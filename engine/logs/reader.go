package logs

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"time"
)

// ReadAll returns the entries of a log, rotated files first, oldest
// first. A missing log is empty.
func ReadAll(path string, maxFiles int) ([]Entry, error) {
	var files []string
	for i := maxFiles; i >= 1; i-- {
		files = append(files, fmt.Sprintf("%s.%d", path, i))
	}
	files = append(files, path)
	var out []Entry
	for _, f := range files {
		es, err := readFile(f)
		if err != nil {
			return nil, err
		}
		out = append(out, es...)
	}
	return out, nil
}

func readFile(path string) ([]Entry, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Entry
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	for sc.Scan() {
		var e Entry
		if json.Unmarshal(sc.Bytes(), &e) == nil {
			out = append(out, e)
		}
	}
	return out, sc.Err()
}

// Source is one container's log for merging.
type Source struct {
	Prefix string // e.g. "web-1"
	Path   string
}

// Line is an entry with the source it came from.
type Line struct {
	Entry
	Prefix string
}

// Filter selects lines: since/until bound the time; Tail keeps the last
// N lines of each source (negative: all).
type Filter struct {
	Since, Until time.Time
	Tail         int
}

// Merge reads all sources and returns their lines merged by time.
func Merge(srcs []Source, f Filter) ([]Line, error) {
	var all []Line
	for _, s := range srcs {
		es, err := ReadAll(s.Path, DefaultMaxFiles+8)
		if err != nil {
			return nil, err
		}
		var ls []Line
		for _, e := range es {
			if !f.Since.IsZero() && e.Time.Before(f.Since) {
				continue
			}
			if !f.Until.IsZero() && !e.Time.Before(f.Until) {
				continue
			}
			ls = append(ls, Line{Entry: e, Prefix: s.Prefix})
		}
		if f.Tail >= 0 && len(ls) > f.Tail {
			ls = ls[len(ls)-f.Tail:]
		}
		all = append(all, ls...)
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].Time.Before(all[j].Time) })
	return all, nil
}

// Follow tails one log file from offset, sending new entries until ctx is
// done. It survives rotation by reopening the path when the file shrinks
// or is replaced.
func Follow(ctx context.Context, path string, offset int64, out chan<- Entry) error {
	var f *os.File
	var ino uint64
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	var r *bufio.Reader
	var partial []byte
	for {
		if f == nil {
			nf, err := os.Open(path)
			if err == nil {
				f = nf
				if _, err := f.Seek(offset, io.SeekStart); err != nil {
					return err
				}
				r = bufio.NewReaderSize(f, 64*1024)
				ino = inode(f)
			}
		}
		if f != nil {
			for {
				chunk, err := r.ReadBytes('\n')
				if len(chunk) > 0 {
					partial = append(partial, chunk...)
					if chunk[len(chunk)-1] == '\n' {
						var e Entry
						if json.Unmarshal(partial, &e) == nil {
							select {
							case out <- e:
							case <-ctx.Done():
								return nil
							}
						}
						offset += int64(len(partial))
						partial = partial[:0]
					}
				}
				if err != nil {
					break
				}
			}
			// rotated or truncated: start again at the new file's top
			if st, err := os.Stat(path); err == nil && (inodeOf(st) != ino || st.Size() < offset) {
				f.Close()
				f, offset, partial = nil, 0, partial[:0]
				continue
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(50 * time.Millisecond):
		}
	}
}
