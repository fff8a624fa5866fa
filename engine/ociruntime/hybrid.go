package ociruntime

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// hybridCgroup2Mounts returns the cgroup2 mount points below /sys/fs/cgroup
// when the host's cgroups are hybrid (v1 controllers on a tmpfs at
// /sys/fs/cgroup, the unified hierarchy mounted beside them, as systemd's
// "hybrid" layout has it at /sys/fs/cgroup/unified). On a pure v1 or a pure
// v2 host it returns nothing.
func hybridCgroup2Mounts() []string {
	var st unix.Statfs_t
	if unix.Statfs("/sys/fs/cgroup", &st) != nil || st.Type == unix.CGROUP2_SUPER_MAGIC {
		return nil
	}
	ms, err := mountinfo.GetMounts(mountinfo.FSTypeFilter("cgroup2"))
	if err != nil {
		return nil
	}
	var points []string
	for _, m := range ms {
		if strings.HasPrefix(m.Mountpoint, "/sys/fs/cgroup/") {
			points = append(points, m.Mountpoint)
		}
	}
	return points
}

// startHidingMounts starts cmd in a mount namespace of its own where the
// mounts at hide are detached: a copy of the caller's, made a slave of it
// first so that mounts made on the host later still reach it and nothing
// done in it reaches the host. crun 1.8 refuses hybrid-cgroup hosts ("cgroups
// in hybrid mode not supported") but runs as on a v1 host when it sees no
// cgroup2 mount; runc is not affected and is never started this way.
//
// The namespace is made on an OS thread locked for the purpose, cmd is
// forked from that thread (and so inherits its namespace), then the thread
// goes back to the caller's namespace and is never unlocked: it exits with
// the goroutine instead of going back to Go's pool (its filesystem
// attributes are its own now). Going back matters when the goroutine ran
// on the main thread, which Go does not end but parks: /proc/self shows
// the main thread's mounts.
func startHidingMounts(cmd *exec.Cmd, hide []string) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // not unlocked: the thread exits with the goroutine
		errc <- hideAndStart(cmd, hide)
	}()
	return <-errc
}

// hideAndStart is startHidingMounts on the locked thread; it returns with
// the thread back in its namespace.
func hideAndStart(cmd *exec.Cmd, hide []string) error {
	name := filepath.Base(cmd.Path)
	orig, err := os.Open("/proc/thread-self/ns/mnt")
	if err != nil {
		return fmt.Errorf("%s: private mount namespace: %w", name, err)
	}
	defer orig.Close()
	if err := unix.Unshare(unix.CLONE_FS | unix.CLONE_NEWNS); err != nil {
		return fmt.Errorf("%s: private mount namespace: %w", name, err)
	}
	defer unix.Setns(int(orig.Fd()), unix.CLONE_NEWNS) //nolint:errcheck // the thread ends after this either way
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_SLAVE, ""); err != nil {
		return fmt.Errorf("%s: private mount namespace: make / a slave: %w", name, err)
	}
	for _, p := range hide {
		if err := unix.Unmount(p, unix.MNT_DETACH); err != nil && err != unix.EINVAL && !os.IsNotExist(err) {
			return fmt.Errorf("%s: private mount namespace: detach %s: %w", name, p, err)
		}
	}
	return cmd.Start()
}
