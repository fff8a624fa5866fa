package fsutil

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

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
