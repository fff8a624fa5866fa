package ociruntime

import (
	"context"
	"fmt"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// ConsoleSocket receives the pty master of a `terminal: true` container or
// exec: give Path as CreateOpts/ExecOpts.ConsoleSocket, then ReceiveMaster.
type ConsoleSocket struct {
	l    *net.UnixListener
	path string
}

// NewConsoleSocket listens on a new unix socket at path (which must not exist).
func NewConsoleSocket(path string) (*ConsoleSocket, error) {
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("console socket: %w", err)
	}
	return &ConsoleSocket{l: l, path: path}, nil
}

// Path is the socket's path.
func (c *ConsoleSocket) Path() string { return c.path }

// ReceiveMaster accepts the runtime's connection and returns the pty master
// it sends (SCM_RIGHTS).
func (c *ConsoleSocket) ReceiveMaster(ctx context.Context) (*os.File, error) {
	if dl, ok := ctx.Deadline(); ok {
		_ = c.l.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = c.l.Close() })
	defer stop()
	conn, err := c.l.AcceptUnix()
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("console socket: %w", ctx.Err())
		}
		return nil, fmt.Errorf("console socket: %w", err)
	}
	defer conn.Close()
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4))
	_, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil {
		return nil, fmt.Errorf("console socket: %w", err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return nil, fmt.Errorf("console socket: no pty received (%v)", err)
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return nil, fmt.Errorf("console socket: no pty received (%v)", err)
	}
	return os.NewFile(uintptr(fds[0]), "pty-master"), nil
}

// Close stops listening and removes the socket file.
func (c *ConsoleSocket) Close() error {
	err := c.l.Close()
	os.Remove(c.path)
	return err
}
