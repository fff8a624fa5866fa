package build

import (
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/engine/rootfs"
)

// mountOverlay mounts the overlay of lowers (lowest first) at l.Merged.
// mount(2) takes overlay's options in one page, which some 30 build-cache
// paths fill; past that the layers are given one by one with the new
// mount API ("lowerdir+", Linux 6.8), which has no such bound.
func mountOverlay(lowers []string, l rootfs.Layout) error {
	n := len("lowerdir=,upperdir=,workdir=") + len(l.Upper) + len(l.Work)
	for _, d := range lowers {
		n += len(d) + 1
	}
	if n < os.Getpagesize()-1 {
		return rootfs.Mount(lowers, l)
	}
	for _, d := range []string{l.Upper, l.Work, l.Merged} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	fd, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return fmt.Errorf("mount overlay at %s (%d layers): fsopen: %w", l.Merged, len(lowers), err)
	}
	defer unix.Close(fd)
	set := func(k, v string) error {
		if err := unix.FsconfigSetString(fd, k, v); err != nil {
			return fmt.Errorf("mount overlay at %s (%d layers): %s=%s: %w (Linux 6.8 or later takes more than some 30 layers)", l.Merged, len(lowers), k, v, err)
		}
		return nil
	}
	// "lowerdir+" wants the top layer first, as lowerdir does
	for i := len(lowers) - 1; i >= 0; i-- {
		if strings.ContainsAny(lowers[i], ",:") {
			return fmt.Errorf("mount overlay: layer path %q holds ',' or ':'", lowers[i])
		}
		if err := set("lowerdir+", lowers[i]); err != nil {
			return err
		}
	}
	if err := set("upperdir", l.Upper); err != nil {
		return err
	}
	if err := set("workdir", l.Work); err != nil {
		return err
	}
	if err := unix.FsconfigCreate(fd); err != nil {
		return fmt.Errorf("mount overlay at %s (%d layers): %w", l.Merged, len(lowers), err)
	}
	mfd, err := unix.Fsmount(fd, unix.FSMOUNT_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("mount overlay at %s (%d layers): fsmount: %w", l.Merged, len(lowers), err)
	}
	defer unix.Close(mfd)
	if err := unix.MoveMount(mfd, "", unix.AT_FDCWD, l.Merged, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("mount overlay at %s (%d layers): move_mount: %w", l.Merged, len(lowers), err)
	}
	return nil
}
