package ociruntime

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/renameio/v2"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// Detect picks the OCI runtime: preferred when given (from --runtime,
// BERTH_RUNTIME or the service's runtime:, as the caller decides), else crun
// when a probe shows it can run a container on this host, else runc. The
// probe's verdict is cached under stateRoot, keyed by crun's binary size
// and mtime, so it runs once per crun install.
func Detect(ctx context.Context, preferred, stateRoot string) (Runtime, error) {
	if preferred != "" {
		rt, err := NewCLI(stateRoot, preferred)
		if err != nil {
			return nil, fmt.Errorf("%w (asked for %q)", err, preferred)
		}
		return rt, nil
	}
	if bin, err := LookupBinary("crun"); err == nil {
		if ok, _ := ProbeCached(ctx, bin, stateRoot); ok {
			return NewCLI(stateRoot, bin)
		}
	}
	if bin, err := LookupBinary("runc"); err == nil {
		return NewCLI(stateRoot, bin)
	}
	return nil, ErrNoRuntime
}

// probeVersion changes when berth changes how it starts a runtime, so that
// a verdict cached by an older berth is probed again (version 2: crun runs
// in a mount namespace without the cgroup2 mount on hybrid hosts).
const probeVersion = 2

type probeRecord struct {
	Version int    `json:"version"`
	Binary  string `json:"binary"`
	Size    int64  `json:"size"`
	ModTime int64  `json:"mtime"`
	OK      bool   `json:"ok"`
	Reason  string `json:"reason,omitempty"`
}

// ProbeCached returns the cached verdict of Probe for binary, probing when
// there is none for this exact binary (size and mtime). A failed probe's
// reason comes back as the error.
func ProbeCached(ctx context.Context, binary, stateRoot string) (bool, error) {
	fi, err := os.Stat(binary)
	if err != nil {
		return false, fmt.Errorf("OCI runtime %s: %w", binary, err)
	}
	dir := filepath.Join(stateRoot, "runtime")
	cache := filepath.Join(dir, "probe-"+filepath.Base(binary)+".json")
	if b, err := os.ReadFile(cache); err == nil {
		var r probeRecord
		if json.Unmarshal(b, &r) == nil && r.Version == probeVersion && r.Binary == binary && r.Size == fi.Size() && r.ModTime == fi.ModTime().UnixNano() {
			if r.OK {
				return true, nil
			}
			return false, errors.New(r.Reason)
		}
	}
	perr := Probe(ctx, binary, stateRoot)
	if ctx.Err() != nil {
		return false, ctx.Err() // no verdict from a canceled probe
	}
	r := probeRecord{Version: probeVersion, Binary: binary, Size: fi.Size(), ModTime: fi.ModTime().UnixNano(), OK: perr == nil}
	if perr != nil {
		r.Reason = perr.Error()
	}
	if b, err := json.Marshal(r); err == nil {
		if err := os.MkdirAll(dir, 0o700); err == nil {
			_ = renameio.WriteFile(cache, b, 0o600, renameio.WithTempDir(dir)) // a cache: best effort
		}
	}
	return r.OK, perr
}

// Probe runs one tiny container (`true`, from the host's /usr mounted
// read-only) with Docker's default namespaces and a cgroup, in the
// foreground, and reports why it failed. crun 1.8, for one, fails here on
// hosts with hybrid cgroups.
func Probe(ctx context.Context, binary, stateRoot string) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := os.MkdirAll(filepath.Join(stateRoot, "runtime"), 0o700); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Join(stateRoot, "runtime"), "probe-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	rt, err := NewCLI(filepath.Join(tmp, "state"), binary)
	if err != nil {
		return err
	}
	rootfs := filepath.Join(tmp, "bundle", "rootfs")
	if err := os.MkdirAll(rootfs, 0o755); err != nil {
		return err
	}
	var mounts []specs.Mount
	for _, d := range []string{"usr", "bin", "sbin", "lib", "lib32", "lib64"} {
		host := "/" + d
		fi, err := os.Lstat(host)
		switch {
		case err != nil:
			continue
		case fi.Mode()&os.ModeSymlink != 0:
			target, err := os.Readlink(host)
			if err != nil {
				return err
			}
			if err := os.Symlink(target, filepath.Join(rootfs, d)); err != nil {
				return err
			}
		case fi.IsDir():
			if err := os.Mkdir(filepath.Join(rootfs, d), 0o755); err != nil {
				return err
			}
			mounts = append(mounts, BindMount(host, host, true))
		}
	}
	id := "berth-probe-" + randHex(6)
	s, err := NewSpec(
		WithRoot(rootfs, true),
		WithArgs("true"),
		WithCgroupsPath("/"+id),
		WithMounts(mounts),
	)
	if err != nil {
		return err
	}
	bundle := filepath.Join(tmp, "bundle")
	if err := WriteBundle(bundle, s); err != nil {
		return err
	}
	defer rt.Delete(context.WithoutCancel(ctx), id, true) //nolint:errcheck // best effort after a failed run
	code, err := rt.Run(ctx, id, bundle, Stdio{})
	if err != nil {
		return err
	}
	if code != 0 {
		return fmt.Errorf("%s: probe container exited with code %d", filepath.Base(binary), code)
	}
	return nil
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// RemoveCgroup removes a container's cgroup directory (cgroupsPath as in
// the spec) and its empty parents up to, not including, stopAt (e.g.
// "/berth"), in every hierarchy under /sys/fs/cgroup (v1, hybrid, v2).
// The runtime removes the leaf on delete; the parents berth made stay
// behind otherwise. Non-empty or busy directories are left alone.
func RemoveCgroup(cgroupsPath, stopAt string) {
	const base = "/sys/fs/cgroup"
	dirs := []string{base}
	if entries, err := os.ReadDir(base); err == nil {
		for _, e := range entries {
			if e.IsDir() {
				dirs = append(dirs, filepath.Join(base, e.Name()))
			}
		}
	}
	stopAt = filepath.Clean("/" + stopAt)
	for _, h := range dirs {
		for p := filepath.Clean("/" + cgroupsPath); p != "/" && p != stopAt && strings.HasPrefix(p, "/"); p = filepath.Dir(p) {
			if err := os.Remove(filepath.Join(h, p)); err != nil && !os.IsNotExist(err) {
				break
			}
		}
	}
}
