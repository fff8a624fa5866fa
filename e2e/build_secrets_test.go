package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"encoding/pem"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/berth-dev/berth/internal/testimages"
)

// savedFiles reads `berth image save` output: every layer's regular
// files by path (later layers win), and whether any blob of the archive
// (raw or gunzipped) contains one of needles.
func savedFiles(t *testing.T, archive string, needles ...string) (files map[string]string, found []string) {
	t.Helper()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	files = map[string]string{}
	seen := map[string]bool{}
	check := func(what string, data []byte) {
		for _, n := range needles {
			if bytes.Contains(data, []byte(n)) && !seen[what+n] {
				seen[what+n] = true
				found = append(found, what)
			}
		}
	}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		check(h.Name, data)
		if zr, err := gzip.NewReader(bytes.NewReader(data)); err == nil {
			if un, err := io.ReadAll(zr); err == nil {
				data = un
				check(h.Name+" (gunzipped)", data)
			}
		}
		inner := tar.NewReader(bytes.NewReader(data))
		for {
			ih, err := inner.Next()
			if err != nil {
				break
			}
			if ih.Typeflag == tar.TypeReg {
				b, _ := io.ReadAll(inner)
				files[strings.TrimPrefix(ih.Name, "./")] = string(b)
			}
		}
	}
	return files, found
}

// TestBuildParallelSecrets: two services with build secrets, one from a
// file and one from an environment variable (as a file and as env=),
// build at the same time: each RUN marks its start in a cache mount both
// builds share and waits for the other's mark, so each sees the other
// running only if their RUNs overlapped. `image save` of each image
// holds no secret bytes; the progress numbers the steps of both builds
// in one sequence, titled with their service. A required secret that is
// not given fails naming the service, the secret and the Dockerfile line.
func TestBuildParallelSecrets(t *testing.T) {
	e := parityEnv(t, `services:
  one:
    build:
      context: ./one
      secrets: [filesecret]
  two:
    build:
      context: ./two
      secrets:
        - source: envsecret
          target: token
  three:
    build: ./three
    profiles: [never]
secrets:
  filesecret:
    file: ./secret.txt
  envsecret:
    environment: BT_TOKEN
`)
	fileSecret, envSecret := "file-s3cr3t-"+rand.Text(), "env-s3cr3t-"+rand.Text()
	e.WriteFile(t, "secret.txt", fileSecret)
	e.ExtraEnv = append(e.ExtraEnv, "BT_TOKEN="+envSecret)
	// mark SELF's start, wait (at most 20 s) for OTHER's
	wait := func(self, other string) string {
		return `touch /shared/` + self + `; i=0; while [ ! -e /shared/` + other + ` ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i+1)); done; ` +
			`if [ -e /shared/` + other + ` ]; then echo overlapped; else echo alone; fi > /overlap`
	}
	e.WriteFile(t, "one/Dockerfile", "FROM alpine\n"+
		"RUN --mount=type=cache,id=bt-overlap,target=/shared --mount=type=secret,id=filesecret "+
		"test \"$(md5sum < /run/secrets/filesecret)\" = '"+md5hex(fileSecret)+"  -' && "+wait("one", "two")+"\n")
	e.WriteFile(t, "two/Dockerfile", "FROM alpine\n"+
		"RUN --mount=type=cache,id=bt-overlap,target=/shared --mount=type=secret,id=token,env=TOKEN --mount=type=secret,id=token,target=/tok "+
		"test \"$(printf %s \"$TOKEN\" | md5sum)\" = '"+md5hex(envSecret)+"  -' && test \"$(cat /tok)\" = \"$TOKEN\" && "+wait("two", "one")+"\n")
	e.WriteFile(t, "three/Dockerfile", "FROM alpine\nRUN true\nRUN --mount=type=secret,id=api_key,required=true cat /run/secrets/api_key\n")

	r := e.MustBerth(t, "build", "--progress", "plain")
	wantBuilt(t, r, "one")
	wantBuilt(t, r, "two")
	for _, title := range []string{"[one 2/2] RUN", "[two 2/2] RUN", "[one] exporting to image", "[two] exporting to image"} {
		if !strings.Contains(r.Stderr, title) {
			t.Errorf("progress lacks %q:\n%s", title, r.Stderr)
		}
	}
	if strings.Contains(r.Stdout+r.Stderr, fileSecret) || strings.Contains(r.Stdout+r.Stderr, envSecret) {
		t.Errorf("a secret was printed:\n%s", r)
	}
	for _, svc := range []string{"one", "two"} {
		archive := filepath.Join(t.TempDir(), svc+".tar")
		e.MustBerth(t, "image", "save", "-o", archive, e.Project+"-"+svc)
		files, found := savedFiles(t, archive, fileSecret, envSecret)
		if len(found) > 0 {
			t.Errorf("image save of %s holds secret bytes in %v", svc, found)
		}
		if got := files["overlap"]; got != "overlapped\n" {
			t.Errorf("%s: /overlap = %q, want overlapped: the two builds' RUN steps did not run at the same time", svc, got)
		}
		for p := range files {
			if strings.HasPrefix(p, "run/secrets/") || p == "tok" {
				t.Errorf("%s: the secret's mount point %s is in a layer", svc, p)
			}
		}
	}

	r = e.Berth(t, "--profile", "never", "build", "three")
	wantCode(t, r, 1, "a build whose required secret is not given")
	wantOut(t, r, `service "three"`, `"api_key"`, "Dockerfile:3")
}

// TestBuildSSHKeyFile: build.ssh with a key file: RUN --mount=type=ssh
// reaches an agent holding that key (listed by the sshagentls test
// program, as `ssh-add -l` would); `build --ssh ID=KEY` does the same.
func TestBuildSSHKeyFile(t *testing.T) {
	e := parityEnv(t, `services:
  ssh:
    build:
      context: .
      ssh:
        - fake-ssh=./fake_rsa
`)
	bin, err := testimages.Program("sshagentls")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	e.WriteFile(t, "sshagentls", string(data))
	e.WriteFile(t, "fake_rsa", rsaKey(t))
	e.WriteFile(t, "Dockerfile", `FROM alpine
COPY --chmod=755 sshagentls /usr/bin/sshagentls
RUN --mount=type=ssh,id=fake-ssh,required=true sshagentls | tee /keys && grep -qx 'ssh-rsa fake_rsa' /keys
`)
	e.MustBerth(t, "build", "--progress", "plain")
	r := e.MustBerth(t, "run", "--rm", "--entrypoint", "cat", "ssh", "/keys")
	if strings.TrimSpace(r.Stdout) != "ssh-rsa fake_rsa" {
		t.Errorf("keys listed in the build: %q", r.Stdout)
	}
}

func md5hex(s string) string {
	h := md5.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}

func rsaKey(t *testing.T) string {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	blk, err := ssh.MarshalPrivateKey(k, "")
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(blk))
}

// TestBuildAdditionalContextsCopy: additional_contexts of a directory
// (COPY --from=NAME, RUN --mount=from=NAME) and of another service's
// image (FROM NAME, built first, in the same command).
func TestBuildAdditionalContextsCopy(t *testing.T) {
	e := parityEnv(t, `services:
  app:
    build:
      context: ./app
      additional_contexts:
        assets: ./assets
        base: service:base
  base:
    build:
      dockerfile_inline: |
        FROM alpine
        RUN echo from-base > /base.txt
`)
	e.WriteFile(t, "assets/a.txt", "asset\n")
	e.WriteFile(t, "app/Dockerfile", `FROM base
COPY --from=assets a.txt /a.txt
RUN --mount=from=assets,target=/m cat /m/a.txt /base.txt > /both
`)
	r := e.MustBerth(t, "build", "app")
	wantBuilt(t, r, "base")
	wantBuilt(t, r, "app")
	r = e.MustBerth(t, "run", "--rm", "--entrypoint", "cat", "app", "/a.txt", "/both")
	if r.Stdout != "asset\nasset\nfrom-base\n" {
		t.Errorf("files from the contexts: %q", r.Stdout)
	}
}

// TestImageBuildSecretFlags: `image build --secret` (file and env),
// `--build-context` and `--ssh` reach the build as docker build's flags do.
func TestImageBuildSecretFlags(t *testing.T) {
	e := parityEnv(t, "")
	e.WriteFile(t, "ctx/Dockerfile", `FROM alpine
COPY --from=extra e.txt /e.txt
COPY --chmod=755 sshagentls /usr/bin/sshagentls
RUN --mount=type=secret,id=f,required --mount=type=secret,id=v,env=V,required test "$(cat /run/secrets/f)" = "$V" && echo ok > /ok
RUN --mount=type=ssh,id=k,required sshagentls > /keys
`)
	bin, err := testimages.Program("sshagentls")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	e.WriteFile(t, "ctx/sshagentls", string(data))
	e.WriteFile(t, "extra/e.txt", "extra\n")
	e.WriteFile(t, "s.txt", "same-value")
	e.WriteFile(t, "id_k", rsaKey(t))
	e.ExtraEnv = append(e.ExtraEnv, "IBS_V=same-value")
	img := e.Project + "-flags"
	e.MustBerth(t, "image", "build", "-t", img, "--secret", "id=f,src=s.txt", "--secret", "id=v,env=IBS_V",
		"--build-context", "extra=./extra", "--ssh", "k=./id_k", "ctx")
	archive := filepath.Join(t.TempDir(), "img.tar")
	e.MustBerth(t, "image", "save", "-o", archive, img)
	files, found := savedFiles(t, archive, "same-value")
	if len(found) > 0 {
		t.Errorf("image save holds the secret in %v", found)
	}
	for p, want := range map[string]string{"ok": "ok\n", "e.txt": "extra\n", "keys": "ssh-rsa id_k\n"} {
		if files[p] != want {
			t.Errorf("/%s = %q, want %q", p, files[p], want)
		}
	}
}
