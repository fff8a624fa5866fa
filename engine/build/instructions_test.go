package build

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestArgsBeforeAndAfterFrom(t *testing.T) {
	e := newEnv(t)
	dir := writeContext(t, nil)
	df := `ARG BASE=busybox
ARG GLOBAL=g-default
ARG FROMCLI
FROM ${BASE}
ARG GLOBAL
ARG LOCAL=l-default
ARG FROMCLI
ARG NOVALUE
ENV FROM_ENV=e-$LOCAL
RUN echo "global=$GLOBAL local=$LOCAL cli=$FROMCLI novalue=[$NOVALUE] env=$FROM_ENV proxy=$http_proxy" > /args
`
	v := func(s string) *string { return &s }
	img, rec := e.mustBuild(t, dir, df, Options{Args: map[string]*string{
		"FROMCLI": v("c"), "LOCAL": v("l-cli"), "UNUSED": v("x"), "http_proxy": v("http://proxy.invalid:3128"), "NILARG": nil,
	}})
	fs := flat(t, img)
	want := "global=g-default local=l-cli cli=c novalue=[] env=e-l-cli proxy=http://proxy.invalid:3128\n"
	if got := fileOf(t, fs, "/args"); got != want {
		t.Errorf("/args = %q, want %q\n%s", got, want, rec.log())
	}
	if log := rec.log(); !strings.Contains(log, "not consumed by any ARG: UNUSED\n") {
		t.Errorf("no warning naming the unused build arg (and only it):\n%s", log)
	}
	cfg := configOf(t, img)
	for _, kv := range cfg.Config.Env {
		if strings.HasPrefix(kv, "LOCAL=") || strings.HasPrefix(kv, "http_proxy=") || strings.HasPrefix(kv, "GLOBAL=") {
			t.Errorf("ARG or proxy %q leaked into the image's Env", kv)
		}
	}
	if !slices.Contains(cfg.Config.Env, "FROM_ENV=e-l-cli") {
		t.Errorf("Env = %v, want FROM_ENV=e-l-cli", cfg.Config.Env)
	}
	for _, h := range cfg.History {
		if strings.Contains(h.CreatedBy, "proxy.invalid") {
			t.Errorf("proxy value in history: %q", h.CreatedBy)
		}
	}
	// a global ARG not re-declared in the stage is not visible in it
	df2 := "ARG G=hidden\nFROM busybox\nRUN echo \"[$G]\" > /g\n"
	img, _ = e.mustBuild(t, dir, df2, Options{})
	if got := fileOf(t, flat(t, img), "/g"); got != "[]\n" {
		t.Errorf("undeclared global ARG visible in RUN: %q", got)
	}
	// a changed --build-arg value misses the cache from the ARG on
	_, rec = e.mustBuild(t, dir, df, Options{Args: map[string]*string{"FROMCLI": v("other")}})
	if n := rec.count(StatusCached); n != 0 {
		t.Errorf("changed build arg: %d cached steps\n%s", n, rec.log())
	}
}

func TestArgUnusedReported(t *testing.T) {
	a := newArgScope('\\', map[string]*string{"USED": ptr("1"), "UNUSED": ptr("2"), "HTTP_PROXY": ptr("p"), "NIL": nil})
	if _, ok := a.buildArg("USED"); !ok {
		t.Fatal("USED not found")
	}
	if got := a.unused(); !slices.Equal(got, []string{"UNUSED"}) {
		t.Errorf("unused = %v, want [UNUSED] (proxies never count)", got)
	}
}

func ptr(s string) *string { return &s }

func TestEnvArgAndShellInRun(t *testing.T) {
	e := newEnv(t)
	dir := writeContext(t, nil)
	df := `FROM busybox
ENV A=1 B="two words"
ARG C=3
ENV A=override
SHELL ["/bin/sh", "-e", "-c"]
RUN echo "$A|$B|$C|$0" > /env.txt
SHELL ["/bin/busybox", "sh", "-c"]
RUN echo "shell2 $0" > /shell2.txt
RUN ["/bin/sh", "-c", "echo exec $A > /exec.txt"]
RUN ["/bin/busybox", "touch", "/exec-form-no-shell"]
CMD echo hi
`
	img, rec := e.mustBuild(t, dir, df, Options{})
	fs := flat(t, img)
	if got := fileOf(t, fs, "/env.txt"); got != "override|two words|3|/bin/sh\n" {
		t.Errorf("/env.txt = %q\n%s", got, rec.log())
	}
	if got := fileOf(t, fs, "/shell2.txt"); got != "shell2 sh\n" {
		t.Errorf("/shell2.txt = %q", got)
	}
	if got := fileOf(t, fs, "/exec.txt"); got != "exec override\n" {
		t.Errorf("/exec.txt = %q", got)
	}
	if _, ok := fs["exec-form-no-shell"]; !ok {
		t.Errorf("exec-form RUN made no file")
	}
	cfg := configOf(t, img)
	if want := []string{"/bin/busybox", "sh", "-c", "echo hi"}; !slices.Equal(cfg.Config.Cmd, want) {
		t.Errorf("Cmd = %q, want %q (shell form through SHELL)", cfg.Config.Cmd, want)
	}
	if want := []string{"/bin/busybox", "sh", "-c"}; !slices.Equal(cfg.Config.Shell, want) {
		t.Errorf("Shell = %q", cfg.Config.Shell)
	}
}

func TestWorkdir(t *testing.T) {
	e := newEnv(t)
	dir := writeContext(t, map[string]string{"f": "f\n"})
	df := `FROM busybox
WORKDIR /a
WORKDIR b
ENV D=dee
WORKDIR c/$D
RUN pwd > pwd.txt
COPY f .
COPY f g/
USER app
WORKDIR /home/app/new
`
	img, rec := e.mustBuild(t, dir, df, Options{})
	fs := flat(t, img)
	if got := fileOf(t, fs, "/a/b/c/dee/pwd.txt"); got != "/a/b/c/dee\n" {
		t.Errorf("pwd = %q\n%s", got, rec.log())
	}
	fileOf(t, fs, "/a/b/c/dee/f")
	fileOf(t, fs, "/a/b/c/dee/g/f")
	cfg := configOf(t, img)
	if cfg.Config.WorkingDir != "/home/app/new" {
		t.Errorf("WorkingDir = %q", cfg.Config.WorkingDir)
	}
	h := fs["home/app/new"].hdr
	if h == nil || h.Typeflag != tar.TypeDir || h.Uid != 1000 || h.Gid != 1000 {
		t.Errorf("WORKDIR after USER app: %+v, want a dir owned by 1000:1000", h)
	}
	if h := fs["a"].hdr; h == nil || h.Uid != 0 || h.Mode&0o777 != 0o755 {
		t.Errorf("WORKDIR /a: %+v, want root's 0755 dir", h)
	}
}

func TestUserRunAndChown(t *testing.T) {
	e := newEnv(t)
	dir := writeContext(t, map[string]string{"f.txt": "f\n", "d/x": "x\n", "d/sub/y": "y\n"})
	df := `FROM busybox
RUN echo root > /root-made && ln /root-made /root-link && mkdir /shared && chmod 1777 /shared
USER app
RUN id -u > /tmp/uid && id -g >> /tmp/uid && touch /shared/by-app
COPY --chown=app f.txt /home/app/
COPY --chown=1000:100 --chmod=0640 d /opt/d/
COPY --chmod=755 f.txt /opt/exe
USER root
RUN touch /by-root-again
`
	img, rec := e.mustBuild(t, dir, df, Options{})
	fs := flat(t, img)
	if got := fileOf(t, fs, "/tmp/uid"); got != "1000\n1000\n" {
		t.Errorf("RUN as USER app: id = %q\n%s", got, rec.log())
	}
	owner := func(p string, uid, gid int, mode int64) {
		t.Helper()
		ent, ok := fs[p]
		if !ok {
			t.Errorf("%s missing", p)
			return
		}
		if ent.hdr.Uid != uid || ent.hdr.Gid != gid {
			t.Errorf("%s owned by %d:%d, want %d:%d", p, ent.hdr.Uid, ent.hdr.Gid, uid, gid)
		}
		if mode >= 0 && ent.hdr.Mode&0o7777 != mode {
			t.Errorf("%s mode %o, want %o", p, ent.hdr.Mode&0o7777, mode)
		}
	}
	owner("root-made", 0, 0, 0o644)
	owner("shared/by-app", 1000, 1000, -1)
	owner("home/app/f.txt", 1000, 1000, 0o644)
	owner("opt/d/x", 1000, 100, 0o640)
	owner("opt/d/sub/y", 1000, 100, 0o640)
	owner("opt/d/sub", 1000, 100, 0o640)
	owner("opt/exe", 0, 0, 0o755)
	owner("by-root-again", 0, 0, -1)
	// a hard link made by RUN is a hard link in the layer
	var linked bool
	for _, l := range layers(t, img) {
		if ent, ok := l["root-link"]; ok {
			linked = ent.hdr.Typeflag == tar.TypeLink && ent.hdr.Linkname == "root-made"
			if !linked {
				if ent2, ok := l["root-made"]; ok && ent2.hdr.Typeflag == tar.TypeLink && ent2.hdr.Linkname == "root-link" {
					linked = true
				}
			}
		}
	}
	if !linked {
		t.Errorf("RUN ln: no hard link entry in the layer")
	}
}

func TestCopySemantics(t *testing.T) {
	e := newEnv(t)
	dir := writeContext(t, map[string]string{
		"a": "a\n", "dir/one.txt": "1\n", "dir/sub/two.txt": "2\n", "dir/empty/": "",
		"x1.conf": "x1\n", "x2.conf": "x2\n", "y.conf": "y\n", "notes.md": "n\n",
	})
	if err := os.Symlink("one.txt", filepath.Join(dir, "dir", "link")); err != nil {
		t.Fatal(err)
	}
	df := `FROM busybox
COPY a /file-dest
COPY a /dir-dest/
COPY a /dot-dest/.
COPY dir /contents/
COPY dir /contents-nodash
COPY x?.conf *.md /globbed/
WORKDIR /w
COPY a .
COPY a rel
COPY a reldir/
`
	img, rec := e.mustBuild(t, dir, df, Options{})
	fs := flat(t, img)
	isFile := func(p, body string) {
		t.Helper()
		ent, ok := fs[p]
		if !ok {
			t.Errorf("%s missing\n%s", p, rec.log())
			return
		}
		if ent.hdr.Typeflag != tar.TypeReg || string(ent.body) != body {
			t.Errorf("%s: type %c body %q, want a file %q", p, ent.hdr.Typeflag, ent.body, body)
		}
	}
	isFile("file-dest", "a\n")
	isFile("dir-dest/a", "a\n")
	isFile("dot-dest/a", "a\n")
	isFile("contents/one.txt", "1\n")
	isFile("contents/sub/two.txt", "2\n")
	isFile("contents-nodash/one.txt", "1\n")
	isFile("globbed/x1.conf", "x1\n")
	isFile("globbed/x2.conf", "x2\n")
	isFile("globbed/notes.md", "n\n")
	isFile("w/a", "a\n")
	isFile("w/rel", "a\n")
	isFile("w/reldir/a", "a\n")
	if _, ok := fs["globbed/y.conf"]; ok {
		t.Errorf("glob x?.conf matched y.conf")
	}
	if _, ok := fs["contents/dir"]; ok {
		t.Errorf("COPY dir /contents/ copied the directory itself, not its contents")
	}
	if h := fs["contents/empty"].hdr; h == nil || h.Typeflag != tar.TypeDir {
		t.Errorf("empty dir not copied: %+v", h)
	}
	if h := fs["contents/link"].hdr; h == nil || h.Typeflag != tar.TypeSymlink || h.Linkname != "one.txt" {
		t.Errorf("symlink inside a copied dir: %+v", h)
	}
	// several sources into a non-directory is refused
	_, _, err := e.build(t, dir, "FROM busybox\nCOPY a x1.conf /notadir\n", Options{})
	if err == nil || !strings.Contains(err.Error(), "must be a directory") {
		t.Errorf("COPY of two files to a file: %v", err)
	}
}

func TestAddLocalArchiveAndURL(t *testing.T) {
	e := newEnv(t)
	var tgz bytes.Buffer
	zw := gzip.NewWriter(&tgz)
	tw := tar.NewWriter(zw)
	for _, f := range []struct{ name, body string }{{"pkg/", ""}, {"pkg/readme", "inside\n"}} {
		h := &tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.body)), Typeflag: tar.TypeReg}
		if strings.HasSuffix(f.name, "/") {
			h.Typeflag, h.Mode = tar.TypeDir, 0o755
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(f.body))
	}
	tw.Close()
	zw.Close()
	dir := writeContext(t, map[string]string{"plain.txt": "plain\n", "fake.tar.gz": "not an archive"})
	if err := os.WriteFile(filepath.Join(dir, "bundle.tar.gz"), tgz.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	df := `FROM busybox
ADD bundle.tar.gz /opt/
ADD plain.txt fake.tar.gz /plain/
COPY bundle.tar.gz /copied/
`
	img, rec := e.mustBuild(t, dir, df, Options{})
	fs := flat(t, img)
	if got := fileOf(t, fs, "/opt/pkg/readme"); got != "inside\n" {
		t.Errorf("ADD of a .tar.gz not extracted: %q\n%s", got, rec.log())
	}
	if _, ok := fs["opt/bundle.tar.gz"]; ok {
		t.Errorf("ADD copied the archive instead of extracting it")
	}
	fileOf(t, fs, "/plain/plain.txt")
	if got := fileOf(t, fs, "/plain/fake.tar.gz"); got != "not an archive" {
		t.Errorf("non-archive ADD: %q", got)
	}
	if got := fileOf(t, fs, "/copied/bundle.tar.gz"); got != tgz.String() {
		t.Errorf("COPY extracted an archive")
	}
	_, _, err := e.build(t, dir, "FROM busybox\nADD https://example.com/x.tar.gz /x\n", Options{Tags: []string{"url:bad"}})
	if !errors.Is(err, ErrRemoteSource) || !strings.Contains(err.Error(), "https://example.com/x.tar.gz") {
		t.Errorf("ADD of a URL: %v, want ErrRemoteSource naming the URL", err)
	}
}

func TestDeleteBaseFileWhiteout(t *testing.T) {
	e := newEnv(t)
	dir := writeContext(t, nil)
	img, rec := e.mustBuild(t, dir, "FROM busybox\nRUN rm /etc/berth-testimage && rm -r /home/app && mkdir /home/app && echo new > /home/app/only\n", Options{})
	ls := layers(t, img)
	last := ls[len(ls)-1]
	if _, ok := last["etc/.wh.berth-testimage"]; !ok {
		names := []string{}
		for n := range last {
			names = append(names, n)
		}
		t.Errorf("no whiteout for /etc/berth-testimage in the RUN's layer: %v\n%s", names, rec.log())
	}
	if _, ok := last["home/app/.wh..wh..opq"]; !ok {
		t.Errorf("recreated dir /home/app is not opaque in the layer")
	}
	for n, ent := range last {
		if strings.Contains(n, ".wh.") && ent.hdr.Typeflag != tar.TypeReg {
			t.Errorf("whiteout %s is type %c, want a regular file", n, ent.hdr.Typeflag)
		}
		for k := range ent.hdr.PAXRecords {
			if strings.Contains(k, "trusted.overlay") {
				t.Errorf("%s carries overlay xattr %s", n, k)
			}
		}
	}
	fs := flat(t, img)
	if _, ok := fs["etc/berth-testimage"]; ok {
		t.Errorf("deleted file still in the image")
	}
	// a later step on top of the deletion still does not see it
	img2, _ := e.mustBuild(t, dir, "FROM busybox\nRUN rm /etc/berth-testimage\nRUN test ! -e /etc/berth-testimage && touch /ok\n", Options{})
	fileOf(t, flat(t, img2), "/ok")
}
