package ociruntime

import (
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// DefaultShmSize is the size of /dev/shm when shm_size is not set (as Docker: 64 MiB).
const DefaultShmSize = 64 << 20

// DefaultMounts returns Docker's default mounts with a /dev/shm of shmSize bytes.
func DefaultMounts(shmSize int64) []specs.Mount {
	return []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
		{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"ro", "nosuid", "noexec", "nodev"}},
		{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
		shmMount(shmSize),
	}
}

func shmMount(size int64) specs.Mount {
	return specs.Mount{
		Destination: "/dev/shm", Type: "tmpfs", Source: "shm",
		Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=" + strconv.FormatInt(size, 10)},
	}
}

// WithShmSize sets the size of /dev/shm in bytes (0 keeps the default).
func WithShmSize(size int64) SpecOpt {
	return func(s *specs.Spec) error {
		if size < 0 {
			return fmt.Errorf("shm_size: negative size %d", size)
		}
		if size == 0 {
			return nil
		}
		m := shmMount(size)
		for i := range s.Mounts {
			if s.Mounts[i].Destination == "/dev/shm" {
				s.Mounts[i] = m
				return nil
			}
		}
		s.Mounts = append(s.Mounts, m)
		return nil
	}
}

// TmpfsMount returns a tmpfs mount at target with Docker's options for
// --tmpfs (rw, nosuid, nodev, noexec) followed by extra mount options such
// as "size=64m" or "mode=1777" (later options win in the kernel).
func TmpfsMount(target string, extra ...string) specs.Mount {
	opts := append([]string{"rw", "nosuid", "nodev", "noexec"}, extra...)
	return specs.Mount{Destination: target, Type: "tmpfs", Source: "tmpfs", Options: opts}
}

// ParseTmpfs parses one entry of a service's `tmpfs:` list: "/path" or
// "/path:opt,opt" (size=, mode=, uid=, gid=, ro, exec, ...).
func ParseTmpfs(entry string) (specs.Mount, error) {
	target, opts, _ := strings.Cut(entry, ":")
	if !path.IsAbs(target) {
		return specs.Mount{}, fmt.Errorf("tmpfs %q: path must be absolute", entry)
	}
	var extra []string
	if opts != "" {
		for _, o := range strings.Split(opts, ",") {
			if o = strings.TrimSpace(o); o != "" {
				extra = append(extra, o)
			}
		}
	}
	return TmpfsMount(path.Clean(target), extra...), nil
}

// WithTmpfs adds the service's `tmpfs:` entries.
func WithTmpfs(entries []string) SpecOpt {
	return func(s *specs.Spec) error {
		var ms []specs.Mount
		for _, e := range entries {
			m, err := ParseTmpfs(e)
			if err != nil {
				return err
			}
			ms = append(ms, m)
		}
		return WithMounts(ms)(s)
	}
}

// WithMounts adds mounts after the current ones. A mount whose destination
// equals an existing one replaces it (so a volume at /dev/shm replaces the
// default); then mounts are ordered so that parents come before children
// (stable by path depth, as Docker sorts them).
func WithMounts(mounts []specs.Mount) SpecOpt {
	return func(s *specs.Spec) error {
		for _, m := range mounts {
			if !path.IsAbs(m.Destination) {
				return fmt.Errorf("mount %q: destination must be an absolute path", m.Destination)
			}
			m.Destination = path.Clean(m.Destination)
			replaced := false
			for i := range s.Mounts {
				if path.Clean(s.Mounts[i].Destination) == m.Destination {
					s.Mounts[i] = m
					replaced = true
					break
				}
			}
			if !replaced {
				s.Mounts = append(s.Mounts, m)
			}
		}
		SortMounts(s.Mounts)
		return nil
	}
}

// SortMounts orders mounts so that a parent directory is mounted before
// anything below it, keeping the given order among mounts of equal depth.
func SortMounts(ms []specs.Mount) {
	depth := func(p string) int {
		p = path.Clean(p)
		if p == "/" {
			return 0
		}
		return strings.Count(p, "/")
	}
	sort.SliceStable(ms, func(i, j int) bool {
		return depth(ms[i].Destination) < depth(ms[j].Destination)
	})
}

// BindMount returns a private bind mount of hostPath at target.
func BindMount(hostPath, target string, readonly bool) specs.Mount {
	opts := []string{"rbind", "rprivate"}
	if readonly {
		opts = append(opts, "ro")
	}
	return specs.Mount{Destination: target, Type: "bind", Source: hostPath, Options: opts}
}

// WithHostsFile bind-mounts the host file hostPath at /etc/hosts.
func WithHostsFile(hostPath string) SpecOpt {
	return WithMounts([]specs.Mount{BindMount(hostPath, "/etc/hosts", false)})
}

// WithResolvConf bind-mounts the host file hostPath at /etc/resolv.conf.
func WithResolvConf(hostPath string) SpecOpt {
	return WithMounts([]specs.Mount{BindMount(hostPath, "/etc/resolv.conf", false)})
}

// WithHostnameFile bind-mounts the host file hostPath at /etc/hostname.
func WithHostnameFile(hostPath string) SpecOpt {
	return WithMounts([]specs.Mount{BindMount(hostPath, "/etc/hostname", false)})
}
