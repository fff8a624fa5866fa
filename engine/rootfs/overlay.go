package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

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
		return fmt.Errorf("rootfs: %d layers make overlay options too long (%d bytes)", len(lowers), len(opts))
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

// Mounted reports whether something is mounted at path.
func Mounted(path string) bool {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && unescape(f[4]) == path {
			return true
		}
	}
	return false
}

func unescape(s string) string {
	return strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`).Replace(s)
}
