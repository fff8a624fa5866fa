package supervisor

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// A container's stdout and stderr are FIFOs under Paths.IO rather than
// anonymous pipes, so that they outlive the supervisor (see "Surviving the
// supervisor" in docs/design.md):
//
//   - the end the container gets is opened O_RDWR: the container itself
//     then counts as a reader, so its writes never meet "no reader"
//     (EPIPE/SIGPIPE) even while no supervisor runs; they fill the pipe
//     and block until one reads again;
//   - a supervisor that adopts the running container opens the FIFO again
//     by its path and goes on copying where the pipe stands.
//
// The supervisor's own end is read-only, so it still sees EOF once every
// process of the container has closed its end.

// fifoPath is the FIFO of one stream of a container.
func (s *Server) fifoPath(id, stream string) string {
	return filepath.Join(s.paths.IO, id+"."+stream)
}

// makeFIFO creates a fresh FIFO at path (mode 0600) and returns the
// supervisor's read end and the container's end.
func makeFIFO(path string) (r, w *os.File, err error) {
	if err := privateDir(filepath.Dir(path)); err != nil {
		return nil, nil, err
	}
	os.Remove(path)
	if err := unix.Mkfifo(path, 0o600); err != nil {
		return nil, nil, fmt.Errorf("log fifo %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		return nil, nil, err
	}
	// Non-blocking: neither open waits for the other side, and reads go
	// through Go's poller.
	if r, err = openFIFOReader(path); err != nil {
		return nil, nil, err
	}
	if w, err = os.OpenFile(path, os.O_RDWR, 0); err != nil {
		r.Close()
		return nil, nil, fmt.Errorf("log fifo %s: %w", path, err)
	}
	return r, w, nil
}

// openFIFOReader opens the supervisor's end of a container's FIFO.
func openFIFOReader(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("log fifo %s: %w", path, err)
	}
	return f, nil
}

// removeFIFOs deletes a container's FIFOs (on remove).
func (s *Server) removeFIFOs(id string) {
	for _, stream := range []string{"stdout", "stderr"} {
		os.Remove(s.fifoPath(id, stream))
	}
}
