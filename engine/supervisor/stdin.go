package supervisor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// OpStdin streams to a running container's stdin (`berth attach`): after
// the supervisor's answer, what the client writes on the connection goes
// to the container's stdin (the pipe the supervisor holds for a
// stdin_open container) until the client closes its side. The stdin
// stays open for the container: another attach can write to it later.
const OpStdin = "stdin"

// serveStdin answers an OpStdin request on conn (the request already
// read by dec) and copies the rest of the connection to the container's
// stdin.
func (s *Server) serveStdin(conn net.Conn, dec *json.Decoder, req Request) {
	enc := json.NewEncoder(conn)
	m, err := s.get(req.ID)
	if err != nil {
		enc.Encode(&Response{Error: err.Error()})
		return
	}
	s.mu.Lock()
	w := m.stdin
	running := m.pid != 0
	s.mu.Unlock()
	switch {
	case w == nil:
		enc.Encode(&Response{Error: fmt.Sprintf("container %s has no open stdin (stdin_open is not set)", m.rec.Name)})
		return
	case !running:
		enc.Encode(&Response{Error: fmt.Sprintf("container %s is not running", m.rec.Name)})
		return
	}
	if enc.Encode(&Response{}) != nil {
		return
	}
	io.Copy(w, io.MultiReader(dec.Buffered(), conn))
}

// Stdin opens a stream to the stdin of the running container id; the
// caller writes to it and closes it (CloseWrite ends the stream, the
// container's stdin stays open).
func (c *Client) Stdin(ctx context.Context, id string) (*net.UnixConn, error) {
	d := net.Dialer{}
	conn, err := d.DialContext(ctx, "unix", c.paths.Socket)
	if err != nil {
		return nil, fmt.Errorf("project %s: %w (%v)", c.Project, ErrNotRunning, err)
	}
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if err := json.NewEncoder(conn).Encode(Request{Op: OpStdin, ID: id}); err != nil {
		conn.Close()
		return nil, fmt.Errorf("project %s supervisor: %w", c.Project, err)
	}
	var resp Response
	if err := json.NewDecoder(conn).Decode(&resp); err != nil {
		conn.Close()
		return nil, fmt.Errorf("project %s supervisor: no answer: %w", c.Project, err)
	}
	if resp.Error != "" {
		conn.Close()
		return nil, errors.New(resp.Error)
	}
	conn.SetDeadline(time.Time{})
	return conn.(*net.UnixConn), nil
}
