package build

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-dev/berth/engine/ociruntime"
)

// outputTail is how many lines of a failing RUN's output its error keeps.
const outputTail = 20

// RunError is a RUN step that exited with a non-zero code.
type RunError struct {
	Command  string   // the process run, as "/bin/sh -c make"
	ExitCode int      // the command's exit code
	Output   []string // the last lines of its output
}

func (e *RunError) Error() string {
	msg := fmt.Sprintf("process %q did not complete successfully: exit code %d", e.Command, e.ExitCode)
	if len(e.Output) > 0 {
		msg += "\n  output (last lines):\n    " + strings.Join(e.Output, "\n    ")
	}
	return msg
}

func (e *RunError) Unwrap() error { return ErrStepFailed }

// runStep runs a RUN instruction in a container over the stage's layers.
func (r *run) runStep(ctx context.Context, st *stageState, cmd *instructions.RunCommand, fail func(error) error) error {
	argv, script, err := r.runArgv(st, cmd)
	if err != nil {
		return fail(err)
	}
	mounts, err := r.runMounts(ctx, st, instructions.GetMounts(cmd))
	if err != nil {
		return fail(err)
	}
	network := r.o.Network
	if n := instructions.GetNetwork(cmd); n != "" && n != "default" {
		network = n
	}
	if network == "" {
		network = "default"
	}
	args := st.runArgs()
	createdBy := "RUN " + strings.Join(argv, " ")
	if len(args) > 0 {
		createdBy = fmt.Sprintf("RUN |%d %s %s", len(args), strings.Join(args, " "), strings.Join(argv, " "))
	}
	env := slices.Clone(st.cfg.Config.Env)
	for _, kv := range append(args, r.args.proxyEnv()...) {
		k, v, _ := strings.Cut(kv, "=")
		if _, set := envMap(env)[k]; !set {
			env = setEnv(env, k, v)
		}
	}
	title := "RUN " + strings.Join(cmd.CmdLine, " ")
	// "bridge": a cached result of a RUN on the host's network (berth's
	// old default) is not one on the build's own network
	keyNet := network
	if keyNet == "default" {
		keyNet = "bridge"
	}
	keyParts := []string{createdBy, "network " + keyNet}
	if len(r.o.ExtraHosts) > 0 {
		keyParts = append(keyParts, "hosts "+strings.Join(r.o.ExtraHosts, ","))
	}
	for _, m := range mounts {
		keyParts = append(keyParts, "mount "+m.key)
	}
	if script != nil {
		keyParts = append(keyParts, "script "+script.Name+"\x00"+script.Data)
	}
	return r.fsStep(ctx, st, title, createdBy, keyParts, fail, func(ctx context.Context, w *workDir, ev *stepEvent) error {
		specMounts, mountEnv, private, release, err := r.prepareMounts(ctx, w, mounts)
		defer release()
		if err != nil {
			return err
		}
		env := env
		for _, kv := range mountEnv {
			k, v, _ := strings.Cut(kv, "=")
			env = setEnv(slices.Clone(env), k, v)
		}
		if script != nil {
			dir := filepath.Join(w.dir, "pipes")
			if err := os.Mkdir(dir, 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(dir, script.Name), []byte(script.Data), 0o755); err != nil {
				return err
			}
			specMounts = append(specMounts, specs.Mount{Type: "bind", Source: dir, Destination: pipesDir, Options: []string{"rbind", "ro"}})
		}
		bundle := filepath.Join(w.dir, "bundle")
		if private != "" {
			bundle = filepath.Join(private, "bundle") // env= secrets are in its config.json
		}
		return r.container(ctx, w, st, network, argv, env, specMounts, bundle, ev)
	})
}

// pipesDir is where a RUN heredoc with a #! line is mounted to be run, as
// BuildKit does.
const pipesDir = "/dev/pipes"

// runArgv is the process of a RUN: its command line through the SHELL,
// or, for a heredoc, as BuildKit runs it: a lone heredoc's text through
// the shell (or, starting with #!, as a script file of its own); heredocs
// within a longer line given to the shell with the line.
func (r *run) runArgv(st *stageState, cmd *instructions.RunCommand) ([]string, *instructions.ShellInlineFile, error) {
	if len(cmd.Files) == 0 {
		return r.commandLine(st, cmd.ShellDependantCmdLine), nil, nil
	}
	if len(cmd.CmdLine) != 1 || !cmd.PrependShell {
		return nil, nil, fmt.Errorf("%w: a heredoc in the exec form of RUN", ErrSyntax)
	}
	line := cmd.CmdLine[0]
	if parser.MustParseHeredoc(line) != nil {
		f := cmd.Files[0]
		data := f.Data
		if f.Chomp {
			data = parser.ChompHeredocContent(data)
		}
		if strings.HasPrefix(data, "#!") {
			name := path.Base(path.Clean("/" + f.Name))
			return []string{path.Join(pipesDir, name)}, &instructions.ShellInlineFile{Name: name, Data: data}, nil
		}
		line = data
	} else {
		var b strings.Builder
		b.WriteString(line)
		for _, f := range cmd.Files {
			b.WriteByte('\n')
			b.WriteString(f.Data)
			b.WriteString(f.Name)
		}
		line = b.String()
	}
	return r.commandLine(st, instructions.ShellDependantCmdLine{CmdLine: []string{line}, PrependShell: true}), nil, nil
}

// container runs argv in a container whose rootfs is w's overlay, with
// output sent as progress and kept for the error.
func (r *run) container(ctx context.Context, w *workDir, st *stageState, network string, argv, env []string, mounts []specs.Mount, bundle string, ev *stepEvent) error {
	rt, err := r.runtime(ctx)
	if err != nil {
		return err
	}
	id := "berth-build-" + randHex(8)
	merged := w.layout.Merged
	hosts, resolv, err := hostFiles(w.dir, network, r.o.ExtraHosts)
	if err != nil {
		return err
	}
	netOpt, releaseNet, err := r.runNetwork(ctx, w.dir, network, id)
	if err != nil {
		return err
	}
	defer releaseNet()
	cg := ociruntime.CgroupsPath("", "build", id)
	host := ociruntime.HostSystem()
	opts := []ociruntime.SpecOpt{
		ociruntime.WithRoot(merged, false),
		ociruntime.WithSystemPaths(host, false),
		ociruntime.WithAppArmor(host, "", false, nil),
		netOpt,
		ociruntime.WithArgs(argv...),
		func(s *specs.Spec) error { s.Process.Env = env; return nil },
		ociruntime.WithWorkingDir("", st.cfg.Config.WorkingDir),
		ociruntime.WithCgroupsPath(cg),
		ociruntime.WithDefaultSeccomp(),
		ociruntime.WithHostsFile(hosts),
		ociruntime.WithMounts(mounts),
	}
	if user := st.cfg.Config.User; user != "" {
		opts = append(opts, ociruntime.WithUser(merged, user, nil))
	}
	if resolv != "" {
		opts = append(opts, ociruntime.WithResolvConf(resolv))
	}
	if r.o.ShmSize > 0 {
		opts = append(opts, ociruntime.WithShmSize(r.o.ShmSize))
	}
	spec, err := ociruntime.NewSpec(opts...)
	if err != nil {
		return err
	}
	// The runtime makes mount points that the image lacks (/proc, /etc/hosts
	// on scratch...); they are no change of the step's and are removed.
	stubs := missingMountPoints(merged, spec)
	if err := writeRunBundle(merged, bundle, spec); err != nil {
		return err
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return err
	}
	lines := make(chan []string, 1)
	go func() {
		lines <- lastLines(pr, outputTail, func(line string) { r.output(ev, line) })
		pr.Close()
	}()
	code, err := rt.Run(ctx, id, bundle, ociruntime.Stdio{Stdout: pw, Stderr: pw})
	pw.Close()
	tail := <-lines
	_ = rt.Delete(context.WithoutCancel(ctx), id, true)
	ociruntime.RemoveCgroup(cg, "/berth")
	removeStubs(merged, stubs)
	if err != nil {
		return fmt.Errorf("run %s: %w", ev.Instruction, err)
	}
	if code != 0 {
		return &RunError{Command: strings.Join(argv, " "), ExitCode: code, Output: tail}
	}
	return nil
}

// writeRunBundle makes the working directory of spec in the rootfs at
// merged (owned by root) and writes the RUN's bundle at bundle.
func writeRunBundle(merged, bundle string, spec *specs.Spec) error {
	if err := mkdirAs(merged, spec.Process.Cwd, ""); err != nil {
		return fmt.Errorf("working directory %s: %w", spec.Process.Cwd, err)
	}
	if err := os.Mkdir(bundle, 0o700); err != nil {
		return err
	}
	return ociruntime.WriteBundle(bundle, spec)
}

// lastLines passes each line of r to each as it comes and returns the
// last n lines once r ends (lines of up to 1 MiB).
func lastLines(r io.Reader, n int, each func(string)) []string {
	var tail []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		tail = append(tail, line)
		if len(tail) > n {
			tail = tail[1:]
		}
		each(line)
	}
	return tail
}

// runNetwork gives a RUN its network: the host's (network host), a new
// empty namespace made by the runtime (none), or, by default, a namespace
// of its own at dir/netns on the build's bridge.
func (r *run) runNetwork(ctx context.Context, dir, network, id string) (ociruntime.SpecOpt, func(), error) {
	switch network {
	case "host":
		return ociruntime.WithNamespace(specs.NetworkNamespace, ociruntime.NamespaceMode{Host: true}), func() {}, nil
	case "none":
		return nil, func() {}, nil
	}
	n, err := r.network(ctx)
	if err != nil {
		return nil, func() {}, err
	}
	path := filepath.Join(dir, "netns")
	release, err := n.attach(ctx, path, id)
	if err != nil {
		return nil, release, err
	}
	return ociruntime.WithNamespace(specs.NetworkNamespace, ociruntime.NamespaceMode{Path: path}), release, nil
}

// hostFiles writes the /etc/hosts (and, with a network, /etc/resolv.conf)
// RUN gets, plus extra hosts: on the host's network the host's files; on
// the build's own network localhost and the host's resolvers that answer
// from it (bridgeResolvConf); with none, localhost only.
func hostFiles(dir, network string, extra []string) (hosts, resolv string, err error) {
	var b strings.Builder
	if network != "host" {
		b.WriteString("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
	} else if data, err := os.ReadFile("/etc/hosts"); err == nil {
		b.Write(data)
		if len(data) > 0 && data[len(data)-1] != '\n' {
			b.WriteByte('\n')
		}
	}
	for _, e := range extra {
		host, ip, ok := strings.Cut(e, "=")
		if !ok {
			// host:ip, where ip may be IPv6 (host:::1)
			host, ip, ok = strings.Cut(e, ":")
		}
		if !ok || host == "" || ip == "" {
			return "", "", fmt.Errorf("extra host %q: want host:ip", e)
		}
		fmt.Fprintf(&b, "%s\t%s\n", strings.Trim(ip, "[]"), host)
	}
	hosts = filepath.Join(dir, "hosts")
	if err := os.WriteFile(hosts, []byte(b.String()), 0o644); err != nil {
		return "", "", err
	}
	if network == "none" {
		return hosts, "", nil
	}
	data, err := os.ReadFile("/etc/resolv.conf")
	if err != nil {
		data = nil
	}
	if network != "host" {
		data = bridgeResolvConf("/etc/resolv.conf", "/run/systemd/resolve/resolv.conf")
	}
	resolv = filepath.Join(dir, "resolv.conf")
	if err := os.WriteFile(resolv, data, 0o644); err != nil {
		return "", "", err
	}
	return hosts, resolv, nil
}

// missingMountPoints lists the mount destinations of spec (and their
// parents) that do not exist in rootfs, deepest first.
func missingMountPoints(rootDir string, spec *specs.Spec) []string {
	root, err := os.OpenRoot(rootDir)
	if err != nil {
		return nil
	}
	defer root.Close()
	seen := map[string]bool{}
	var out []string
	for _, m := range spec.Mounts {
		for p := strings.TrimPrefix(path.Clean(m.Destination), "/"); p != "" && p != "."; p = path.Dir(p) {
			if seen[p] {
				break
			}
			seen[p] = true
			if _, err := root.Lstat(p); errors.Is(err, fs.ErrNotExist) {
				out = append(out, p)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return strings.Count(out[i], "/") > strings.Count(out[j], "/") })
	return out
}

// removeStubs removes the mount points the runtime created, when empty.
func removeStubs(rootDir string, stubs []string) {
	if len(stubs) == 0 {
		return
	}
	root, err := os.OpenRoot(rootDir)
	if err != nil {
		return
	}
	defer root.Close()
	for _, p := range stubs {
		fi, err := root.Lstat(p)
		if err != nil {
			continue
		}
		if fi.IsDir() || (fi.Mode().IsRegular() && fi.Size() == 0) {
			_ = root.Remove(p) // fails on a non-empty directory, as wanted
		}
	}
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
