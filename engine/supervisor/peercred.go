package supervisor

import (
	"fmt"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// privateDir makes dir (and missing parents) and sets it to 0700 whatever
// the umask or whoever made it first: the supervisor's socket, locks and
// console sockets live there, and no other user may reach them.
func privateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("make %s private: %w", dir, err)
	}
	return nil
}

// peerCred returns the credentials of the process that opened conn, as
// the kernel recorded them at connect(2) (SO_PEERCRED): they cannot be
// forged by the client.
func peerCred(conn net.Conn) (*unix.Ucred, error) {
	uc, ok := conn.(*net.UnixConn)
	if !ok {
		return nil, fmt.Errorf("not a unix socket connection")
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return nil, err
	}
	var cred *unix.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return nil, err
	}
	return cred, cerr
}

// peerAllowed says whether a peer with uid may drive the supervisor: root,
// or the user the supervisor itself runs as. The socket's mode already
// keeps others out; this holds even if a mode is loosened later.
func peerAllowed(uid uint32, euid int) bool {
	return uid == 0 || int64(uid) == int64(euid)
}

// authorize checks the peer of a new connection.
func authorize(conn net.Conn) error {
	cred, err := peerCred(conn)
	if err != nil {
		return fmt.Errorf("peer credentials: %w", err)
	}
	if !peerAllowed(cred.Uid, os.Geteuid()) {
		return fmt.Errorf("refused pid %d uid %d gid %d: only root may use the supervisor", cred.Pid, cred.Uid, cred.Gid)
	}
	return nil
}
