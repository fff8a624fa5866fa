package fsutil

import (
	"io/fs"
	"path/filepath"
)

// DirSize is the apparent size of the regular files under dir (symlinks
// are not followed; unreadable parts count as nothing).
func DirSize(dir string) uint64 {
	var n uint64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += uint64(fi.Size())
			}
		}
		return nil
	})
	return n
}
