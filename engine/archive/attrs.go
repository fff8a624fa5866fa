package archive

import (
	"context"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// node recreates a FIFO or device node without opening it. A device node
// copied out of a container is left to root alone (mode 0600, owner the
// caller): the container chose its numbers, and on the host it would hand
// whoever can open it the host's device.
func (c *copier) node(st *unix.Stat_t, dir *os.File, name string) error {
	kind := st.Mode & unix.S_IFMT
	device := kind == unix.S_IFCHR || kind == unix.S_IFBLK
	if device && os.Geteuid() != 0 {
		return fmt.Errorf("is a device node; only root can recreate it")
	}
	perm := uint32(c.mode(st).Perm())
	if device && c.out {
		perm &= 0o600
	}
	if err := makeNode(dir, name, kind|perm, st.Rdev); err != nil {
		return err
	}
	h, err := openPath(dir, name, 0)
	if err != nil {
		return err
	}
	defer h.Close()
	if got, err := fstat(h); err != nil || got.Mode&unix.S_IFMT != kind {
		return fmt.Errorf("replaced while being made")
	}
	// The umask may have taken bits away; chmod through the handle, which
	// is the node just made (checked above), never a path.
	if err := unix.Chmod(fmt.Sprintf("/proc/self/fd/%d", h.Fd()), perm); err != nil {
		return err
	}
	if c.o.KeepOwner && !(device && c.out) {
		if err := unix.Fchownat(int(h.Fd()), "", int(st.Uid), int(st.Gid), unix.AT_EMPTY_PATH); err != nil {
			return err
		}
	}
	return times(dir, name, st)
}

// mode is the source's permission bits. Out of a container, setuid and
// setgid are dropped from files: the container chose them, and on the
// host the file belongs to root.
func (c *copier) mode(st *unix.Stat_t) os.FileMode {
	m := os.FileMode(st.Mode & 0o777)
	if st.Mode&unix.S_ISVTX != 0 {
		m |= os.ModeSticky
	}
	isDir := st.Mode&unix.S_IFMT == unix.S_IFDIR
	if st.Mode&unix.S_ISGID != 0 && (isDir || !c.out) {
		m |= os.ModeSetgid
	}
	if st.Mode&unix.S_ISUID != 0 && !c.out {
		m |= os.ModeSetuid
	}
	return m
}

// owner gives f the source's uid and gid under -a.
func (c *copier) owner(f *os.File, st *unix.Stat_t) error {
	if !c.o.KeepOwner {
		return nil
	}
	return f.Chown(int(st.Uid), int(st.Gid))
}

// times sets name's access and modification times from the source's,
// without following a symlink.
func times(dir *os.File, name string, st *unix.Stat_t) error {
	ts := []unix.Timespec{st.Atim, st.Mtim}
	return unix.UtimesNanoAt(int(dir.Fd()), name, ts, unix.AT_SYMLINK_NOFOLLOW)
}

func fstat(f *os.File) (*unix.Stat_t, error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// pseudoFS reports whether h is on a kernel pseudo filesystem (proc,
// sysfs, cgroup, ...) that a walk must not read: /proc/kcore alone is
// the size of the address space.
func pseudoFS(h *os.File) bool {
	var sf unix.Statfs_t
	if err := unix.Fstatfs(int(h.Fd()), &sf); err != nil {
		return true
	}
	switch int64(sf.Type) {
	case unix.PROC_SUPER_MAGIC, unix.SYSFS_MAGIC, unix.CGROUP_SUPER_MAGIC, unix.CGROUP2_SUPER_MAGIC,
		unix.DEVPTS_SUPER_MAGIC, 0x19800202 /* mqueue */, unix.SECURITYFS_MAGIC, unix.DEBUGFS_MAGIC,
		unix.TRACEFS_MAGIC, unix.BPF_FS_MAGIC, unix.PSTOREFS_MAGIC, unix.NSFS_MAGIC,
		unix.BINFMTFS_MAGIC, unix.SELINUX_MAGIC, unix.SMACK_MAGIC, 0x62656570 /* configfs */, 0x65735543 /* fusectl */ :
		return true
	}
	return false
}

// ctxReader stops a copy when ctx is canceled.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (r ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}
