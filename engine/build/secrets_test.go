package build

import (
	"bytes"
	"crypto/ed25519"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/berth-dev/berth/internal/testimages"
)

// parseMounts parses the --mount flags of a one-RUN Dockerfile.
func parseMounts(t *testing.T, run string) []*instructions.Mount {
	t.Helper()
	df, err := parseDockerfile("Dockerfile", []byte("FROM busybox\n"+run+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := df.stages[0].Commands[0].(*instructions.RunCommand)
	if err := cmd.Expand(func(w string) (string, error) { return w, nil }); err != nil {
		t.Fatal(err)
	}
	return instructions.GetMounts(cmd)
}

// TestSecretMountOptions: the id, target and env of a secret mount and of
// an ssh mount, resolved as BuildKit resolves them, and what their cache
// key holds (never the secret).
func TestSecretMountOptions(t *testing.T) {
	r := &run{o: &Options{
		Secrets: map[string]Secret{"tok": {Value: []byte("VALUE-123")}, "key": {File: "/f"}},
		SSH:     map[string]SSHSource{"default": {Socket: "/s"}, "gh": {Keys: []string{"/k"}}},
	}}
	for _, c := range []struct {
		run, id, target, env, err string
		skipped                   bool
	}{
		{run: "RUN --mount=type=secret,id=tok true", id: "tok", target: "/run/secrets/tok"},
		{run: "RUN --mount=type=secret,id=tok,env=TOKEN true", id: "tok", env: "TOKEN"},
		{run: "RUN --mount=type=secret,id=tok,env=TOKEN,target=/t true", id: "tok", target: "/t", env: "TOKEN"},
		{run: "RUN --mount=type=secret,target=/etc/key true", id: "key", target: "/etc/key"},
		{run: "RUN --mount=type=secret,id=tok,target=rel/x true", id: "tok", target: "/app/rel/x"},
		{run: "RUN --mount=type=secret,id=nope true", skipped: true},
		{run: "RUN --mount=type=secret,id=nope,required true", err: `secret "nope"`},
		{run: "RUN --mount=type=secret,id=nope,required=true true", err: `secret "nope"`},
		{run: "RUN --mount=type=ssh true", id: "default", target: "/run/buildkit/ssh_agent.0"},
		{run: "RUN --mount=type=ssh,id=gh,target=/a.sock true", id: "gh", target: "/a.sock"},
		{run: "RUN --mount=type=ssh,id=nope true", skipped: true},
		{run: "RUN --mount=type=ssh,id=nope,required true", err: `ssh "nope"`},
	} {
		ms := parseMounts(t, c.run)
		rm := runMount{m: ms[0]}
		var ok bool
		var err error
		if ms[0].Type == instructions.MountTypeSSH {
			ok, err = r.sshMount(&rm, "/app", 0)
		} else {
			ok, err = r.secretMount(&rm, "/app")
		}
		switch {
		case c.err != "":
			if !errors.Is(err, ErrMissingSecret) || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: err = %v, want ErrMissingSecret naming %s", c.run, err, c.err)
			}
			continue
		case err != nil:
			t.Errorf("%s: %v", c.run, err)
			continue
		case ok == c.skipped:
			t.Errorf("%s: mounted = %v, want %v", c.run, ok, !c.skipped)
			continue
		case c.skipped:
			continue
		}
		if rm.id != c.id || rm.target != c.target || rm.env != c.env {
			t.Errorf("%s: id %q target %q env %q, want %q %q %q", c.run, rm.id, rm.target, rm.env, c.id, c.target, c.env)
		}
		if strings.Contains(rm.key, "VALUE-123") || !strings.Contains(rm.key, c.id) {
			t.Errorf("%s: key %q", c.run, rm.key)
		}
	}
}

// TestParseSSHSource: a socket alone, key files, or an error.
func TestParseSSHSource(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "agent.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	key := filepath.Join(dir, "id")
	if err := os.WriteFile(key, []byte("k"), 0o600); err != nil {
		t.Fatal(err)
	}
	if s, err := ParseSSHSource([]string{sock}); err != nil || s.Socket != sock {
		t.Errorf("socket: %+v %v", s, err)
	}
	if s, err := ParseSSHSource([]string{key, key}); err != nil || len(s.Keys) != 2 {
		t.Errorf("keys: %+v %v", s, err)
	}
	if _, err := ParseSSHSource([]string{sock, key}); err == nil {
		t.Error("a socket with a key file: no error")
	}
	if _, err := ParseSSHSource([]string{filepath.Join(dir, "missing")}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing path: %v", err)
	}
	if _, err := ParseSSHSource(nil); err == nil {
		t.Error("no path: no error")
	}
}

// TestRunMountSecrets builds with a file secret and an environment one:
// RUN sees them (at /run/secrets/<id>, at a target with mode and owner,
// in an env= variable), nothing of them is in any layer, in the build
// cache or in the image config, and a changed secret does not invalidate
// the steps (as BuildKit). A required secret not given fails naming its
// id and Dockerfile line.
func TestRunMountSecrets(t *testing.T) {
	e := newEnv(t)
	dir := writeContext(t, map[string]string{"x": "x"})
	fileSecret, envSecret := "file-s3cr3t-"+rand.Text(), "env-s3cr3t-"+rand.Text()
	secretPath := filepath.Join(t.TempDir(), "secret.txt")
	if err := os.WriteFile(secretPath, []byte(fileSecret), 0o600); err != nil {
		t.Fatal(err)
	}
	df := `FROM busybox
RUN --mount=type=secret,id=fs md5sum < /run/secrets/fs > /fs.md5 && stat -c '%a %u' /run/secrets/fs > /fs.mode
RUN --mount=type=secret,id=es,env=TOKEN printf %s "$TOKEN" | md5sum > /es.md5 && if [ -e /run/secrets/es ]; then echo file > /es.file; fi
RUN --mount=type=secret,id=fs,target=/etc/app/key,mode=0440,uid=1000,gid=1001 stat -c '%a %u %g' /etc/app/key > /custom.mode && md5sum < /etc/app/key > /custom.md5
`
	o := Options{Secrets: map[string]Secret{"fs": {File: secretPath}, "es": {Value: []byte(envSecret)}}}
	img, rec := e.mustBuild(t, dir, df, o)
	fsys := flat(t, img)
	md5of := func(s string) string { h := md5.Sum([]byte(s)); return hex.EncodeToString(h[:]) + "  -\n" }
	for p, want := range map[string]string{
		"/fs.md5": md5of(fileSecret), "/fs.mode": "400 0\n", "/es.md5": md5of(envSecret),
		"/custom.mode": "440 1000 1001\n", "/custom.md5": md5of(fileSecret),
	} {
		if got := fileOf(t, fsys, p); got != want {
			t.Errorf("%s = %q, want %q\n%s", p, got, want, rec.log())
		}
	}
	if _, ok := fsys["es.file"]; ok {
		t.Error("an env= secret without target was also mounted as a file")
	}
	for i, l := range layers(t, img) {
		for p, ent := range l {
			if strings.HasPrefix(p, "run/secrets/") || strings.HasPrefix(p, "etc/app/key") {
				t.Errorf("layer %d holds the mount target %s", i, p)
			}
			if bytes.Contains(ent.body, []byte(fileSecret)) || bytes.Contains(ent.body, []byte(envSecret)) {
				t.Errorf("layer %d: %s holds secret bytes", i, p)
			}
		}
	}
	raw, _ := mustV1(t, img).RawConfigFile()
	if bytes.Contains(raw, []byte(envSecret)) || bytes.Contains(raw, []byte(fileSecret)) {
		t.Error("the image config holds a secret")
	}
	_ = filepath.WalkDir(e.cacheDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		data, _ := os.ReadFile(p)
		if bytes.Contains(data, []byte(fileSecret)) || bytes.Contains(data, []byte(envSecret)) {
			t.Errorf("build cache file %s holds secret bytes", p)
		}
		return nil
	})

	// A new secret value: every step cached (secrets are not in the key).
	o.Secrets["es"] = Secret{Value: []byte("other")}
	_, rec = e.mustBuild(t, dir, df, o)
	for title, st := range fsStatuses(rec) {
		if st != StatusCached {
			t.Errorf("%s: %s after the secret changed, want cached", title, st)
		}
	}

	_, rec, err := e.build(t, dir, "FROM busybox\nRUN true\nRUN --mount=type=secret,id=api_key,required true\n", Options{})
	if !errors.Is(err, ErrMissingSecret) || !strings.Contains(err.Error(), `"api_key"`) || !strings.Contains(err.Error(), "Dockerfile (inline):3") {
		t.Errorf("missing required secret: err = %v, want ErrMissingSecret naming api_key and line 3\n%s", err, rec.log())
	}
}

// TestRunMountSSH: a key file served by the builder's own agent (at the
// default target, SSH_AUTH_SOCK set) and a forwarded agent socket (at a
// target of the RUN's), listed inside RUN by the sshagentls test program;
// no socket is left in a layer.
func TestRunMountSSH(t *testing.T) {
	e := newEnv(t)
	bin, err := testimages.Program("sshagentls")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "sshagentls"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "id_test")
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	blk, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(blk), 0o600); err != nil {
		t.Fatal(err)
	}
	// the "host" agent forwarded: a keyring with another key
	kr := agent.NewKeyring()
	_, priv2, _ := ed25519.GenerateKey(rand.Reader)
	if err := kr.Add(agent.AddedKey{PrivateKey: priv2, Comment: "forwarded-key"}); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "agent.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _ = agent.ServeAgent(kr, c) }()
		}
	}()
	df := `FROM busybox
COPY sshagentls /bin/sshagentls
RUN --mount=type=ssh sshagentls > /keys.default && echo "$SSH_AUTH_SOCK" > /sock.default
RUN --mount=type=ssh,id=fwd,target=/tmp/a.sock,uid=1000 sshagentls /tmp/a.sock > /keys.fwd && stat -c '%u %a' /tmp/a.sock > /sock.fwd
`
	o := Options{SSH: map[string]SSHSource{"default": {Keys: []string{keyFile}}, "fwd": {Socket: sock}}}
	img, rec := e.mustBuild(t, dir, df, o)
	fsys := flat(t, img)
	for p, want := range map[string]string{
		"/keys.default": "ssh-ed25519 id_test\n", "/sock.default": "/run/buildkit/ssh_agent.0\n",
		"/keys.fwd": "ssh-ed25519 forwarded-key\n", "/sock.fwd": "1000 600\n",
	} {
		if got := fileOf(t, fsys, p); got != want {
			t.Errorf("%s = %q, want %q\n%s", p, got, want, rec.log())
		}
	}
	for p := range fsys {
		if strings.HasPrefix(p, "run/buildkit/") || p == "tmp/a.sock" {
			t.Errorf("%s left in the image", p)
		}
	}
	_, _, err = e.build(t, dir, "FROM busybox\nRUN --mount=type=ssh,required true\n", Options{})
	if !errors.Is(err, ErrMissingSecret) || !strings.Contains(err.Error(), `ssh "default"`) {
		t.Errorf("missing required ssh: %v", err)
	}
}

// TestAdditionalContexts: a directory context (its own .dockerignore
// applied) used by COPY --from and RUN --mount=from, an image context as
// FROM; a change in the directory context invalidates the COPY.
func TestAdditionalContexts(t *testing.T) {
	e := newEnv(t)
	dir := writeContext(t, map[string]string{"x": "x"})
	extra := writeContext(t, map[string]string{"b.txt": "from extra\n", "drop.skip": "no\n", ".dockerignore": "*.skip\n"})
	df := `FROM base
COPY --from=extra b.txt /b.txt
RUN --mount=from=extra,target=/x cat /x/b.txt > /via-mount && ls /x > /listed
`
	o := Options{Contexts: map[string]string{"extra": extra, "base": "docker-image://" + testimages.BusyboxName}}
	img, rec := e.mustBuild(t, dir, df, o)
	fsys := flat(t, img)
	for p, want := range map[string]string{"/b.txt": "from extra\n", "/via-mount": "from extra\n", "/listed": "b.txt\n"} {
		if got := fileOf(t, fsys, p); got != want {
			t.Errorf("%s = %q, want %q\n%s", p, got, want, rec.log())
		}
	}
	if _, ok := fsys["bin/busybox"]; !ok {
		t.Error("FROM an image context: no /bin/busybox")
	}
	writeFiles(t, extra, map[string]string{"b.txt": "changed\n"})
	img, _ = e.mustBuild(t, dir, df, o)
	if got := fileOf(t, flat(t, img), "/b.txt"); got != "changed\n" {
		t.Errorf("after a change in the context: /b.txt = %q", got)
	}
	_, _, err := e.build(t, dir, "FROM busybox\nCOPY --from=nope a /a\n", Options{Contexts: map[string]string{"extra": "https://example.com/x.git"}})
	if !errors.Is(err, ErrRemoteSource) {
		t.Errorf("a git context: %v, want ErrRemoteSource", err)
	}
	_, _, err = e.build(t, dir, "FROM extra\n", Options{Contexts: map[string]string{"extra": extra}})
	if !errors.Is(err, ErrUnsupported) {
		t.Errorf("FROM a directory context: %v, want ErrUnsupported", err)
	}
}

func mustV1(t *testing.T, img interface {
	V1Image() (v1.Image, error)
}) v1.Image {
	t.Helper()
	vi, err := img.V1Image()
	if err != nil {
		t.Fatal(err)
	}
	return vi
}

// TestParseSecretAndSSHSpecs: docker build's --secret and --ssh values.
func TestParseSecretAndSSHSpecs(t *testing.T) {
	env := map[string]string{"TOKEN": "tv", "plain": "pv"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	for spec, want := range map[string]string{
		"id=a,src=/s/f":          "a file /s/f",
		"id=a,source=/s/f":       "a file /s/f",
		"id=a,env=TOKEN":         "a value tv",
		"id=plain":               "plain value pv",
		"id=/x/f,type=file":      "/x/f file /x/f",
		"type=file,id=plain":     "plain file " + mustAbs(t, "plain"),
		"id=a,env=UNSET":         "error",
		"src=/f":                 "error",
		"id=a,bogus=1":           "error",
		"id=nothere":             "nothere file " + mustAbs(t, "nothere"),
		"id=a,src=rel/f,type=ff": "a file " + mustAbs(t, "rel/f"),
	} {
		id, s, err := ParseSecretSpec(spec, lookup)
		got := "error"
		if err == nil {
			got = id + " value " + string(s.Value)
			if s.File != "" {
				got = id + " file " + s.File
			}
		}
		if got != want {
			t.Errorf("--secret %s: %s, want %s", spec, got, want)
		}
	}
	t.Setenv("SSH_AUTH_SOCK", "")
	if _, _, err := ParseSSHSpec(""); err == nil || !strings.Contains(err.Error(), "invalid empty ssh agent socket") {
		t.Errorf("--ssh '': %v", err)
	}
	if _, _, err := ParseSSHSpec("default"); err == nil || !strings.Contains(err.Error(), "SSH_AUTH_SOCK") {
		t.Errorf("--ssh default without an agent: %v", err)
	}
	key := filepath.Join(t.TempDir(), "k")
	if err := os.WriteFile(key, []byte("k"), 0o600); err != nil {
		t.Fatal(err)
	}
	if id, s, err := ParseSSHSpec("gh=" + key); err != nil || id != "gh" || len(s.Keys) != 1 || s.Keys[0] != key {
		t.Errorf("--ssh gh=KEY: %s %+v %v", id, s, err)
	}
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
