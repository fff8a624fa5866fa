package safepath

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/google/renameio/v2"
	"golang.org/x/sys/unix"
)

// A Bind is a path beneath a root that is resolved afresh (Open) and
// bind-mounted on a staging target each time a container starts; the
// container's spec names Target as the mount source, so the runtime
// follows no path the container can change.
type Bind struct {
	Root   string `json:"root"`   // a directory berth made (a volume's _data)
	Path   string `json:"path"`   // relative, beneath Root
	Target string `json:"target"` // the staging mount point, in a 0700 dir
	What   string `json:"what"`   // names the bind in errors: `service "a": volume "data"`
	Create bool   `json:"create,omitempty"`
}

func (b Bind) errorf(err error) error {
	return fmt.Errorf("%s: subpath %q: %w", b.What, b.Path, err)
}

// Mount opens the bind's path (see Open) and bind-mounts the opened file
// on Target through /proc/self/fd, after unmounting whatever an earlier
// start left there. Target is made as the same kind (a 0700 dir or a 0600
// file) in a 0700 parent.
func (b Bind) Mount() error {
	f, err := Open(b.Root, b.Path, b.Create)
	if err != nil {
		return b.errorf(err)
	}
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return b.errorf(err)
	}
	if err := prepareTarget(b.Target, st.Mode&unix.S_IFMT == unix.S_IFDIR); err != nil {
		return b.errorf(err)
	}
	src := fmt.Sprintf("/proc/self/fd/%d", f.Fd())
	if err := unix.Mount(src, b.Target, "", unix.MS_BIND, ""); err != nil {
		return b.errorf(fmt.Errorf("mount on %s: %w", b.Target, err))
	}
	// What is mounted must be what was opened (moby checks the same).
	var got unix.Stat_t
	if err := unix.Lstat(b.Target, &got); err != nil || got.Dev != st.Dev || got.Ino != st.Ino {
		_ = Unmount(b.Target)
		return b.errorf(fmt.Errorf("mounted %s is not the file opened", b.Target))
	}
	return nil
}

// prepareTarget readies an unmounted, empty mount point of the right kind.
func prepareTarget(target string, dir bool) error {
	if err := os.MkdirAll(filepath.Dir(target), 0o700); err != nil {
		return err
	}
	if err := os.Chmod(filepath.Dir(target), 0o700); err != nil {
		return err
	}
	if err := Unmount(target); err != nil {
		return err
	}
	fi, err := os.Lstat(target)
	switch {
	case err == nil && fi.IsDir() == dir && (dir || fi.Mode().IsRegular()):
		return nil
	case err == nil:
		if err := os.Remove(target); err != nil {
			return err
		}
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}
	if dir {
		return os.Mkdir(target, 0o700)
	}
	f, err := os.OpenFile(target, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	return f.Close()
}

// Unmount unmounts everything stacked on target (lazily: the runtime may
// still hold it); a target that is no mount point, or missing, is fine.
func Unmount(target string) error {
	for range 32 {
		err := unix.Unmount(target, unix.MNT_DETACH|unix.UMOUNT_NOFOLLOW)
		switch {
		case err == nil:
			continue
		case errors.Is(err, unix.EINVAL), errors.Is(err, unix.ENOENT):
			return nil
		default:
			return fmt.Errorf("unmount %s: %w", target, err)
		}
	}
	return fmt.Errorf("unmount %s: still mounted", target)
}

// Stage mounts every bind; on error, those mounted are unmounted again.
// unstage unmounts them all; it is safe to call more than once.
func Stage(binds []Bind) (unstage func(), err error) {
	unstage = func() {
		for _, b := range binds {
			_ = Unmount(b.Target)
		}
	}
	for _, b := range binds {
		if err := b.Mount(); err != nil {
			unstage()
			return func() {}, err
		}
	}
	return unstage, nil
}

// file is where a container dir keeps its binds.
func file(dir string) string { return filepath.Join(dir, "safe-binds.json") }

// Save records the binds a container dir (a runtime bundle) stages at
// each start; no binds removes the record.
func Save(dir string, binds []Bind) error {
	if len(binds) == 0 {
		if err := os.Remove(file(dir)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	data, err := json.MarshalIndent(binds, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return renameio.WriteFile(file(dir), data, 0o600)
}

// Load reads the binds Save recorded in dir; none when there is no record.
func Load(dir string) ([]Bind, error) {
	data, err := os.ReadFile(file(dir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var binds []Bind
	if err := json.Unmarshal(data, &binds); err != nil {
		return nil, fmt.Errorf("%s: %w", file(dir), err)
	}
	return binds, nil
}

// StageDir stages the binds recorded in dir (see Stage).
func StageDir(dir string) (unstage func(), err error) {
	binds, err := Load(dir)
	if err != nil {
		return func() {}, err
	}
	return Stage(binds)
}

// UnstageDir unmounts whatever the binds recorded in dir left mounted (a
// start killed half-way); the caller must not remove dir before this
// succeeds, or the removal would descend into the mounted volume.
func UnstageDir(dir string) error {
	binds, err := Load(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, b := range binds {
		errs = append(errs, Unmount(b.Target))
	}
	return errors.Join(errs...)
}
