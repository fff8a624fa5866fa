package state

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Modes of the directories that hold what containers made. Containers
// write setuid-root files into volumes (and images bring them in by copy-up);
// a local user who can reach such a file runs it as root. So nothing under
// the state root is reachable by others: the root is Docker's 0710 (root's
// group may traverse, no one else), the volumes dir and the run dir 0700
// (Docker's /run/docker is 0700).
const (
	RootMode    fs.FileMode = 0o710
	VolumesMode fs.FileMode = 0o700
	RunMode     fs.FileMode = 0o700
)

// EnsureRoot makes berth's state root and its volumes dir, or tightens them
// when they exist with a mode that lets others in (made by an older berth,
// by hand, or by a tool under a loose umask). Modes are set with chmod, not
// left to the umask. It returns one line per directory it tightened, for the
// CLI to tell the user once: a tightened directory is not tightened again.
func EnsureRoot(root string) (notices []string, err error) {
	for _, d := range []struct {
		path string
		mode fs.FileMode
	}{{root, RootMode}, {filepath.Join(root, "volumes"), VolumesMode}} {
		n, err := EnsureDir(d.path, d.mode)
		if err != nil {
			return notices, fmt.Errorf("state root: %w", err)
		}
		if n != "" {
			notices = append(notices, n)
		}
	}
	return notices, nil
}

// EnsureRun is EnsureRoot for the run dir (sockets, locks, namespaces).
func EnsureRun(run string) (notices []string, err error) {
	n, err := EnsureDir(run, RunMode)
	if err != nil {
		return nil, fmt.Errorf("run dir: %w", err)
	}
	if n != "" {
		notices = append(notices, n)
	}
	return notices, nil
}

// EnsureDir makes dir with exactly mode (its missing parents 0755, as
// /var/lib is), or, when dir exists, drops every permission bit that mode
// does not grant: a dir stricter than mode stays as it is. The notice is
// non-empty when an existing dir was tightened.
func EnsureDir(dir string, mode fs.FileMode) (notice string, err error) {
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
			return "", err
		}
		if err := os.Mkdir(dir, mode); err != nil && !errors.Is(err, fs.ErrExist) {
			return "", err
		}
		// Mkdir's mode passed through the umask, and a racing creator
		// may have used another: set it.
		return "", os.Chmod(dir, mode)
	}
	if err != nil {
		return "", err
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("%s is not a directory", dir)
	}
	have := fi.Mode().Perm()
	if have&^mode == 0 {
		return "", nil
	}
	if err := os.Chmod(dir, have&mode); err != nil {
		return "", err
	}
	return fmt.Sprintf("%s was mode %04o, which let other users reach into it (and run setuid files containers left there); set it to %04o",
		dir, have, have&mode), nil
}
