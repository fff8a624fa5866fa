package build

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/sys/unix"
)

// ErrMissingSecret is a RUN --mount=type=secret,required (or type=ssh,
// required) whose id the build was not given.
var ErrMissingSecret = errors.New("required build secret not provided")

// Secret is a build secret (RUN --mount=type=secret): the contents of a
// file, read when a step mounts it, or a value (compose's
// `environment:` secrets, read from the project's environment).
type Secret struct {
	File  string // a file on the host
	Value []byte // the secret itself, when File is ""
}

func (s Secret) read() ([]byte, error) {
	if s.File == "" {
		return s.Value, nil
	}
	return os.ReadFile(s.File)
}

// SSHSource is what a RUN --mount=type=ssh with one id reaches: an agent
// socket to forward (Socket), or private key files served by an agent of
// the builder's own (Keys).
type SSHSource struct {
	Socket string
	Keys   []string
}

// ParseSSHSource turns a list of paths (docker build --ssh id=PATH,...,
// compose's build.ssh) into a source: one unix socket, or key files.
func ParseSSHSource(paths []string) (SSHSource, error) {
	var s SSHSource
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return SSHSource{}, fmt.Errorf("ssh %s: %w", p, err)
		}
		if fi.Mode()&os.ModeSocket != 0 {
			if len(paths) != 1 {
				return SSHSource{}, fmt.Errorf("ssh %s: an agent socket cannot be combined with other paths", p)
			}
			s.Socket = p
			continue
		}
		s.Keys = append(s.Keys, p)
	}
	if s.Socket == "" && len(s.Keys) == 0 {
		return SSHSource{}, errors.New("ssh: no agent socket or key file (is SSH_AUTH_SOCK set?)")
	}
	return s, nil
}

// Default targets of secret and ssh mounts, as BuildKit's.
const (
	secretsDir  = "/run/secrets"
	sshAgentDir = "/run/buildkit"
)

// secretMount resolves a RUN --mount=type=secret: its id (default: the
// target's base name), its target (default /run/secrets/<id>; none when
// only env= is asked for). ok is false for a secret not given and not
// required: the mount is skipped, as BuildKit skips it.
func (r *run) secretMount(rm *runMount, wd string) (ok bool, err error) {
	m := rm.m
	id := m.CacheID
	if id == "" && m.Target != "" {
		id = path.Base(m.Target)
	}
	if id == "" {
		return false, fmt.Errorf("--mount=type=secret: %w: no id or target", ErrSyntax)
	}
	rm.id = id
	switch {
	case m.Target != "":
		rm.target = absIn(wd, m.Target)
	case m.Env == nil:
		rm.target = path.Join(secretsDir, id)
	default:
		rm.target = ""
	}
	if m.Env != nil {
		rm.env = *m.Env
	}
	s, found := r.o.Secrets[id]
	if !found {
		if m.Required {
			return false, fmt.Errorf("--mount=type=secret,id=%s,required: %w: secret %q (give it in the service's build.secrets, or --secret id=%s,src=FILE)", id, ErrMissingSecret, id, id)
		}
		return false, nil
	}
	rm.secret = &s
	// The key names the mount, never the secret's value: as BuildKit, a
	// changed secret does not invalidate the step.
	rm.key = fmt.Sprintf("secret id=%s target=%s env=%s", id, rm.target, rm.env)
	return true, nil
}

// sshMount resolves a RUN --mount=type=ssh: its id (default "default")
// and target (default /run/buildkit/ssh_agent.<n>, n counting the RUN's
// ssh mounts).
func (r *run) sshMount(rm *runMount, wd string, n int) (ok bool, err error) {
	m := rm.m
	id := m.CacheID
	if id == "" {
		id = "default"
	}
	rm.id = id
	if m.Target != "" {
		rm.target = absIn(wd, m.Target)
	} else {
		rm.target = path.Join(sshAgentDir, "ssh_agent."+strconv.Itoa(n))
	}
	src, found := r.o.SSH[id]
	if !found {
		if m.Required {
			return false, fmt.Errorf("--mount=type=ssh,id=%s,required: %w: ssh %q (give it in the service's build.ssh, or --ssh %s=PATH)", id, ErrMissingSecret, id, id)
		}
		return false, nil
	}
	rm.ssh = &src
	rm.key = fmt.Sprintf("ssh id=%s target=%s", id, rm.target)
	return true, nil
}

func absIn(wd, p string) string {
	if !path.IsAbs(p) {
		p = path.Join(wd, p)
	}
	return path.Clean(p)
}

// privateDir is a step's tmpfs for secrets, agent sockets and (when a
// secret goes into the environment) the runtime bundle: nothing of a
// secret is written to disk. It is made on first use and unmounted by
// the step's release.
type privateDir struct {
	dir     string
	mounted bool
}

func (p *privateDir) get(w *workDir, undo *[]func()) (string, error) {
	if p.mounted {
		return p.dir, nil
	}
	p.dir = filepath.Join(w.dir, "private")
	if err := os.Mkdir(p.dir, 0o700); err != nil {
		return "", err
	}
	if err := unix.Mount("tmpfs", p.dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=0700,size=16m"); err != nil {
		return "", fmt.Errorf("secrets tmpfs: %w", err)
	}
	p.mounted = true
	dir := p.dir
	*undo = append(*undo, func() {
		_ = unix.Unmount(dir, unix.MNT_DETACH)
		_ = os.Remove(dir)
	})
	return p.dir, nil
}

// secretFile writes a secret into the private dir as a file with the
// mount's mode (default 0400) and owner, to be bound read-only at its
// target.
func secretFile(dir string, i int, rm runMount, data []byte) (string, error) {
	p := filepath.Join(dir, "secret-"+strconv.Itoa(i))
	mode := os.FileMode(0o400)
	if rm.m.Mode != nil {
		mode = fileMode(uint32(*rm.m.Mode))
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return "", err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Chown(idOr(rm.m.UID), idOr(rm.m.GID))
	}
	if err == nil {
		err = f.Chmod(mode)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return p, err
}

func idOr(p *uint64) int {
	if p == nil {
		return 0
	}
	return int(*p)
}

// sshAgent serves one ssh mount on a unix socket in the private dir:
// connections go to the forwarded agent, or to an in-process agent
// holding the source's keys. Its close stops it and waits for its
// connections to end.
type sshAgent struct {
	ln    net.Listener
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]bool
}

func startSSHAgent(dir string, i int, rm runMount) (string, *sshAgent, error) {
	var keyring agent.Agent
	if rm.ssh.Socket == "" {
		kr := agent.NewKeyring()
		for _, k := range rm.ssh.Keys {
			data, err := os.ReadFile(k)
			if err != nil {
				return "", nil, fmt.Errorf("ssh %s: %w", rm.id, err)
			}
			key, err := ssh.ParseRawPrivateKey(data)
			if err != nil {
				var pp *ssh.PassphraseMissingError
				if errors.As(err, &pp) {
					return "", nil, fmt.Errorf("ssh %s: key %s is protected by a passphrase: add it to an agent and give the agent's socket instead", rm.id, k)
				}
				return "", nil, fmt.Errorf("ssh %s: key %s: %w", rm.id, k, err)
			}
			if err := kr.Add(agent.AddedKey{PrivateKey: key, Comment: filepath.Base(k)}); err != nil {
				return "", nil, fmt.Errorf("ssh %s: key %s: %w", rm.id, k, err)
			}
		}
		keyring = kr
	}
	sock := filepath.Join(dir, "ssh-"+strconv.Itoa(i)+".sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		return "", nil, err
	}
	mode := os.FileMode(0o600)
	if rm.m.Mode != nil {
		mode = fileMode(uint32(*rm.m.Mode))
	}
	err = os.Lchown(sock, idOr(rm.m.UID), idOr(rm.m.GID))
	if err == nil {
		err = os.Chmod(sock, mode)
	}
	if err != nil {
		ln.Close()
		return "", nil, fmt.Errorf("ssh %s: %w", rm.id, err)
	}
	a := &sshAgent{ln: ln, conns: map[net.Conn]bool{}}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			a.mu.Lock()
			a.conns[c] = true
			a.mu.Unlock()
			a.wg.Add(1)
			go func() {
				defer a.wg.Done()
				defer func() {
					a.mu.Lock()
					delete(a.conns, c)
					a.mu.Unlock()
					c.Close()
				}()
				if keyring != nil {
					_ = agent.ServeAgent(keyring, c)
					return
				}
				up, err := net.Dial("unix", rm.ssh.Socket)
				if err != nil {
					return
				}
				defer up.Close()
				done := make(chan struct{}, 2)
				go func() { _, _ = io.Copy(up, c); done <- struct{}{} }()
				go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
				<-done
			}()
		}
	}()
	return sock, a, nil
}

func (a *sshAgent) close() {
	a.ln.Close()
	a.mu.Lock()
	for c := range a.conns {
		c.Close()
	}
	a.mu.Unlock()
	a.wg.Wait()
}

// secretMounts makes a step's secret and ssh mounts: runtime mounts of
// the files and sockets made in the private dir, and the environment
// they add (env= secrets, SSH_AUTH_SOCK for the first ssh mount).
func secretMounts(rm runMount, i int, dir string, undo *[]func()) ([]specs.Mount, []string, error) {
	switch rm.m.Type {
	case instructions.MountTypeSecret:
		data, err := rm.secret.read()
		if err != nil {
			return nil, nil, fmt.Errorf("secret %s: %w", rm.id, err)
		}
		var env []string
		if rm.env != "" {
			env = append(env, rm.env+"="+string(data))
		}
		if rm.target == "" {
			return nil, env, nil
		}
		p, err := secretFile(dir, i, rm, data)
		if err != nil {
			return nil, nil, fmt.Errorf("secret %s: %w", rm.id, err)
		}
		return []specs.Mount{{Type: "bind", Source: p, Destination: rm.target, Options: []string{"rbind", "ro", "nosuid", "nodev", "noexec"}}}, env, nil
	case instructions.MountTypeSSH:
		sock, a, err := startSSHAgent(dir, i, rm)
		if err != nil {
			return nil, nil, err
		}
		*undo = append(*undo, a.close)
		return []specs.Mount{{Type: "bind", Source: sock, Destination: rm.target, Options: []string{"rbind", "rw", "nosuid", "nodev", "noexec"}}}, nil, nil
	}
	return nil, nil, nil
}

// ParseSSHSpec parses docker build's --ssh value: "default" or "ID" (the
// agent at $SSH_AUTH_SOCK), or "ID=PATH[,PATH...]" (a socket, or key
// files; relative paths from the working directory).
func ParseSSHSpec(spec string) (string, SSHSource, error) {
	id, paths, hasPaths := strings.Cut(spec, "=")
	if id == "" {
		return "", SSHSource{}, errors.New("invalid empty ssh agent socket: make sure SSH_AUTH_SOCK is set")
	}
	var list []string
	if hasPaths && paths != "" {
		for _, p := range strings.Split(paths, ",") {
			abs, err := filepath.Abs(p)
			if err != nil {
				return "", SSHSource{}, err
			}
			list = append(list, abs)
		}
	} else {
		sock := os.Getenv("SSH_AUTH_SOCK")
		if sock == "" {
			return "", SSHSource{}, fmt.Errorf("--ssh %s: invalid empty ssh agent socket: make sure SSH_AUTH_SOCK is set", spec)
		}
		list = []string{sock}
	}
	src, err := ParseSSHSource(list)
	if err != nil {
		return "", SSHSource{}, fmt.Errorf("--ssh %s: %w", spec, err)
	}
	return id, src, nil
}

// ParseSecretSpec parses docker build's --secret value:
// "id=ID[,src=FILE|,env=VAR]" (type=file|env may be given; with neither
// src nor env, the variable named ID, else the file named ID). Values of
// env secrets are read now.
func ParseSecretSpec(spec string, lookupEnv func(string) (string, bool)) (string, Secret, error) {
	var id, src, env, typ string
	for _, f := range strings.Split(spec, ",") {
		k, v, _ := strings.Cut(f, "=")
		switch strings.ToLower(k) {
		case "id":
			id = v
		case "src", "source":
			src = v
		case "env":
			env = v
		case "type":
			typ = v
		default:
			return "", Secret{}, fmt.Errorf("--secret %s: unknown field %q", spec, k)
		}
	}
	if id == "" {
		return "", Secret{}, fmt.Errorf("--secret %s: no id", spec)
	}
	if src == "" && env == "" {
		if _, ok := lookupEnv(id); ok && typ != "file" {
			env = id
		} else {
			src = id
		}
	}
	if env != "" && typ != "file" {
		v, ok := lookupEnv(env)
		if !ok {
			return "", Secret{}, fmt.Errorf("--secret %s: environment variable %s is not set", spec, env)
		}
		return id, Secret{Value: []byte(v)}, nil
	}
	abs, err := filepath.Abs(src)
	if err != nil {
		return "", Secret{}, err
	}
	return id, Secret{File: abs}, nil
}
