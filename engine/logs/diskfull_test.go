package logs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"syscall"
	"testing"
)

// fullDisk is a log file in memory whose writes fail with ENOSPC while
// full is set, after writing part of the data (as a real file system does
// when the space runs out mid-write).
type fullDisk struct {
	buf  bytes.Buffer
	full bool
}

func (d *fullDisk) Write(p []byte) (int, error) {
	if d.full {
		n := len(p) / 2
		d.buf.Write(p[:n])
		return n, syscall.ENOSPC
	}
	return d.buf.Write(p)
}

func (d *fullDisk) Truncate(size int64) error {
	d.buf.Truncate(int(size))
	return nil
}

func (d *fullDisk) Close() error { return nil }

// TestWriterDiskFull: entries are dropped whole while the disk is full,
// counted, and the count is written (and reported) with the first entry
// that fits again; Copy never stops reading.
func TestWriterDiskFull(t *testing.T) {
	disk := &fullDisk{}
	w, err := newWriter("c-json.log", Options{MaxSize: 1 << 20, MaxFiles: 1},
		func(string) (logFile, int64, error) { return disk, int64(disk.buf.Len()), nil })
	if err != nil {
		t.Fatal(err)
	}
	var reports []string
	w.SetReporter(func(m string) { reports = append(reports, m) })

	var in strings.Builder
	for i := range 3 {
		fmt.Fprintf(&in, "ok %d\n", i)
	}
	if err := w.Copy("stdout", strings.NewReader(in.String())); err != nil {
		t.Fatal(err)
	}
	disk.full = true
	in.Reset()
	for i := range 5 {
		fmt.Fprintf(&in, "lost %d\n", i)
	}
	if err := w.Copy("stdout", strings.NewReader(in.String())); err != nil {
		t.Fatalf("Copy gave up on a full disk: %v", err)
	}
	disk.full = false
	if err := w.Copy("stderr", strings.NewReader("back\n")); err != nil {
		t.Fatal(err)
	}

	var got []string
	for _, l := range strings.Split(strings.TrimSuffix(disk.buf.String(), "\n"), "\n") {
		var e Entry
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("torn line in the log: %q", l)
		}
		got = append(got, strings.TrimSuffix(e.Log, "\n"))
	}
	want := []string{"ok 0", "ok 1", "ok 2", "berth: 5 lines dropped: no space left on device", "back"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("log lines:\n%q\nwant:\n%q", got, want)
	}
	if len(reports) != 2 || !strings.Contains(reports[0], "dropping") || !strings.Contains(reports[1], "5 lines dropped") {
		t.Errorf("reports %q, want a start and an end of the drop with its count", reports)
	}
}
