package main

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/engine/state"
)

func newCpCmd(g *globalOptions) *cobra.Command {
	var index int
	cmd := &cobra.Command{
		Use:   "cp [OPTIONS] SERVICE:SRC_PATH DEST_PATH | SRC_PATH SERVICE:DEST_PATH",
		Short: "Copy files/folders between a service container and the local filesystem",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			sel, eng, err := g.selectionAndEngine(ctx, nil)
			if err != nil {
				return err
			}
			src, dst := args[0], args[1]
			svcSrc, srcPath, fromContainer := splitServicePath(src)
			svcDst, dstPath, toContainer := splitServicePath(dst)
			if fromContainer == toContainer {
				return fmt.Errorf("cp: exactly one of the paths must be SERVICE:PATH")
			}
			svc := svcSrc
			if toContainer {
				svc = svcDst
			}
			recs, err := eng.Store().List(sel.Project)
			if err != nil {
				return err
			}
			var rec *state.Container
			for _, r := range recs {
				if r.Service == svc && r.Number == index && !r.Oneoff {
					rec = r
				}
			}
			if rec == nil {
				return fmt.Errorf("service %q has no container number %d", svc, index)
			}
			// A running container is seen through its own mount namespace
			// (volumes included); a stopped one through its rootfs.
			rootDir := rec.Rootfs
			if st, err := eng.Store().GetState(rec.ID); err == nil && st.Status == state.StatusRunning && st.Pid > 0 {
				rootDir = "/proc/" + strconv.Itoa(st.Pid) + "/root"
			}
			root, err := os.OpenRoot(rootDir)
			if err != nil {
				return fmt.Errorf("cp: container %s: %w", rec.Name, err)
			}
			defer root.Close()
			if fromContainer {
				return copyOut(root, strings.TrimPrefix(path.Clean("/"+srcPath), "/"), dstPath)
			}
			return copyIn(root, srcPath, strings.TrimPrefix(path.Clean("/"+dstPath), "/"))
		},
	}
	cmd.Flags().IntVar(&index, "index", 1, "Index of the container if the service has several replicas")
	cmd.Flags().BoolP("archive", "a", false, "Archive mode (accepted; ownership is kept when root)")
	cmd.Flags().BoolP("follow-link", "L", false, "Accepted for compatibility")
	return cmd
}

// splitServicePath reads SERVICE:PATH; a plain path (or one starting with
// / or .) is local.
func splitServicePath(s string) (service, p string, ok bool) {
	if strings.HasPrefix(s, "/") || strings.HasPrefix(s, ".") {
		return "", s, false
	}
	service, p, ok = strings.Cut(s, ":")
	if !ok || service == "" {
		return "", s, false
	}
	return service, p, true
}

// copyOut copies src (inside root) to the host path dst, Docker's way: into
// dst when it is an existing directory.
func copyOut(root *os.Root, src, dst string) error {
	fsys := root.FS()
	if src == "" {
		src = "."
	}
	st, err := fs.Stat(fsys, src)
	if err != nil {
		return fmt.Errorf("cp: %s: %w", src, err)
	}
	if dfi, err := os.Stat(dst); err == nil && dfi.IsDir() {
		dst = filepath.Join(dst, path.Base("/"+src))
	}
	if !st.IsDir() {
		return copyFileOut(fsys, src, dst, st.Mode())
	}
	return fs.WalkDir(fsys, src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p, src), "/")
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(target, info.Mode().Perm()|0o700)
		case info.Mode()&fs.ModeSymlink != 0:
			link, err := root.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		case info.Mode().IsRegular():
			return copyFileOut(fsys, p, target, info.Mode())
		}
		return nil
	})
}

func copyFileOut(fsys fs.FS, src, dst string, mode fs.FileMode) error {
	in, err := fsys.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode.Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// copyIn copies the host path src into root at dst.
func copyIn(root *os.Root, src, dst string) error {
	st, err := os.Stat(src)
	if err != nil {
		return fmt.Errorf("cp: %w", err)
	}
	if dst == "" {
		dst = "."
	}
	if dfi, err := root.Stat(dst); err == nil && dfi.IsDir() {
		dst = path.Join(dst, filepath.Base(src))
	}
	if !st.IsDir() {
		return copyFileIn(root, src, dst, st.Mode())
	}
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := path.Join(dst, filepath.ToSlash(rel))
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			if err := root.MkdirAll(target, info.Mode().Perm()|0o700); err != nil {
				return err
			}
		case info.Mode()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return root.Symlink(link, target)
		case info.Mode().IsRegular():
			return copyFileIn(root, p, target, info.Mode())
		}
		return nil
	})
}

func copyFileIn(root *os.Root, src, dst string, mode fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := root.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode.Perm())
	if err != nil {
		return fmt.Errorf("cp: %s: %w", dst, err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
