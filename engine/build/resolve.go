package build

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
	"syscall"
)

// maxSymlinks bounds the links one path may go through, as the kernel's
// MAXSYMLINKS.
const maxSymlinks = 40

// resolveIn resolves rel inside root the way the container would see it:
// symlinks are followed, an absolute target starting again at root and
// ".." stopping at it, so the result (slash form, relative to root) holds
// no symlink but maybe its last component when followLast is false. The
// part of the path that does not exist is kept as written. os.Root alone
// refuses absolute links (/var/run -> /run) as escapes.
func resolveIn(root *os.Root, rel string, followLast bool) (string, error) {
	var out []string
	todo := splitPath(rel)
	links := 0
	for len(todo) > 0 {
		part := todo[0]
		todo = todo[1:]
		switch part {
		case "", ".":
			continue
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
			continue
		}
		cur := path.Join(append(out, part)...)
		if len(todo) == 0 && !followLast {
			out = append(out, part)
			break
		}
		fi, err := root.Lstat(cur)
		if errors.Is(err, fs.ErrNotExist) {
			out = append(out, part)
			continue
		}
		if err != nil {
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			out = append(out, part)
			continue
		}
		if links++; links > maxSymlinks {
			return "", fmt.Errorf("/%s: %w", rel, syscall.ELOOP)
		}
		target, err := root.Readlink(cur)
		if err != nil {
			return "", err
		}
		if path.IsAbs(target) {
			out = out[:0]
		}
		todo = append(splitPath(target), todo...)
	}
	return path.Join(out...), nil
}

func splitPath(p string) []string {
	return strings.Split(strings.Trim(p, "/"), "/")
}
