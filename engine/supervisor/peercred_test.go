package supervisor

import (
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// TestPeerCredSocketpair: the credentials read off a connection are the
// kernel's record of the peer (here: this process).
func TestPeerCredSocketpair(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	f0, f1 := os.NewFile(uintptr(fds[0]), "a"), os.NewFile(uintptr(fds[1]), "b")
	defer f1.Close()
	conn, err := net.FileConn(f0)
	f0.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cred, err := peerCred(conn)
	if err != nil {
		t.Fatal(err)
	}
	if int(cred.Uid) != os.Geteuid() || int(cred.Pid) != os.Getpid() {
		t.Errorf("peer cred %+v, want uid %d pid %d", cred, os.Geteuid(), os.Getpid())
	}
	if err := authorize(conn); err != nil {
		t.Errorf("own user refused: %v", err)
	}
}

// TestPeerAllowed: only root and the supervisor's own user are served.
func TestPeerAllowed(t *testing.T) {
	for _, c := range []struct {
		uid  uint32
		euid int
		want bool
	}{
		{0, 0, true},
		{65534, 0, false},
		{1000, 0, false},
		{1000, 1000, true},
		{0, 1000, true},
		{1001, 1000, false},
	} {
		if got := peerAllowed(c.uid, c.euid); got != c.want {
			t.Errorf("peerAllowed(uid %d, euid %d) = %v, want %v", c.uid, c.euid, got, c.want)
		}
	}
}

// TestPrivateDirUmask: the supervisor's directory is 0700 even under
// umask 000 and even when something made it 0755 first.
func TestPrivateDirUmask(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	dir := filepath.Join(t.TempDir(), "projects", "p")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := privateDir(dir); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("mode %v, want 0700", fi.Mode().Perm())
	}
}
