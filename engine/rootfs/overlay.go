package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// Layout is where a container's rootfs pieces live, under its directory.
type Layout struct {
	Upper, Work, Merged string
}

// LayoutIn returns the layout under dir.
func LayoutIn(dir string) Layout {
	return Layout{
		Upper:  filepath.Join(dir, "upper"),
		Work:   filepath.Join(dir, "work"),
		Merged: filepath.Join(dir, "rootfs"),
	}
}

// Mount mounts the overlay: lowers are the image's layer dirs, lowest
// first (the order an image lists them). An image with one layer and no
// writes wanted could be a bind, but the overlay keeps one code path.
func Mount(lowers []string, l Layout) error {
	if len(lowers) == 0 {
		return errors.New("rootfs: image has no layers")
	}
	for _, d := range []string{l.Upper, l.Work, l.Merged} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	// overlay wants the top layer first
	rev := make([]string, len(lowers))
	for i, d := range lowers {
		rev[len(lowers)-1-i] = d
	}
	opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", strings.Join(rev, ":"), l.Upper, l.Work)
	if len(opts) >= unix.Getpagesize()-1 {
		// mount(2) takes overlay's options in one page, which some 30
		// layer paths fill: past that the layers go one by one through
		// the new mount API.
		return mountLayerByLayer(lowers, l)
	}
	if err := unix.Mount("overlay", l.Merged, "overlay", 0, opts); err != nil {
		return fmt.Errorf("mount overlay rootfs at %s: %w", l.Merged, err)
	}
	return nil
}

// Unmount unmounts the rootfs; not mounted is not an error.
func Unmount(l Layout) error {
	err := unix.Unmount(l.Merged, unix.MNT_DETACH)
	if err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unmount rootfs %s: %w", l.Merged, err)
	}
	return nil
}

// Mounted reports whether something is mounted at path (exactly there,
// as /proc/self/mountinfo lists it).
func Mounted(path string) bool {
	ms, err := mountinfo.GetMounts(mountinfo.SingleEntryFilter(path))
	return err == nil && len(ms) > 0
}

// mountLayerByLayer mounts the overlay with fsopen/fsconfig, giving each
// lower dir on its own ("lowerdir+", Linux 6.8), which has no bound on
// their number.
func mountLayerByLayer(lowers []string, l Layout) error {
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
