package build

import (
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const secretText = "TOP-SECRET-7f3a9c"

func TestDockerignoreSecretNeverInALayer(t *testing.T) {
	e := newEnv(t)
	dir := writeContext(t, map[string]string{
		".dockerignore":         "# comment\n**/*.key\nsecrets/\nnode_modules\n!node_modules/keep.txt\n.env\n",
		"app/main.txt":          "main\n",
		"app/private.key":       secretText,
		"secrets/token":         secretText,
		".env":                  "PASSWORD=" + secretText,
		"node_modules/dep.js":   secretText,
		"node_modules/keep.txt": "kept\n",
		"root.key":              secretText,
	})
	df := "FROM busybox\nCOPY . /ctx/\nCOPY app /app/\nCOPY app/* /glob/\n"
	img, _ := e.mustBuild(t, dir, df, Options{})
	fs := flat(t, img)
	fileOf(t, fs, "/ctx/app/main.txt")
	fileOf(t, fs, "/app/main.txt")
	fileOf(t, fs, "/glob/main.txt")
	if got := fileOf(t, fs, "/ctx/node_modules/keep.txt"); got != "kept\n" {
		t.Errorf("!exception not copied: %q", got)
	}
	for _, p := range []string{"ctx/.env", "ctx/secrets", "ctx/secrets/token", "ctx/app/private.key", "app/private.key", "ctx/root.key", "ctx/node_modules/dep.js", "glob/private.key"} {
		if _, ok := fs[p]; ok {
			t.Errorf("ignored %s copied", p)
		}
	}
	for i, l := range layers(t, img) {
		for name, ent := range l {
			if strings.Contains(string(ent.body), secretText) {
				t.Errorf("layer %d: %s holds the secret", i, name)
			}
		}
	}
	// nor in the cache's blobs
	blobs, _ := filepath.Glob(filepath.Join(e.cacheDir, "layers", "*", "blob"))
	for _, b := range blobs {
		f, err := os.Open(b)
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(zr)
		f.Close()
		if strings.Contains(string(data), secretText) {
			t.Errorf("cache blob %s holds the secret", b)
		}
	}
	// changing an ignored file does not miss the cache
	writeFiles(t, dir, map[string]string{"secrets/token": "rotated", "app/private.key": "rotated"})
	_, rec := e.mustBuild(t, dir, df, Options{})
	for title, st := range fsStatuses(rec) {
		if st != StatusCached {
			t.Errorf("%s: %s after an ignored file changed, want cached", title, st)
		}
	}
	// naming an ignored file is an error that says so
	_, _, err := e.build(t, dir, "FROM busybox\nCOPY secrets/token /t\n", Options{})
	if err == nil || !strings.Contains(err.Error(), ".dockerignore") {
		t.Errorf("COPY of an ignored file: %v", err)
	}
}

func TestCopyExclude(t *testing.T) {
	e := newEnv(t)
	dir := writeContext(t, map[string]string{"d/a.txt": "a", "d/b.log": "b"})
	df := `FROM busybox AS src
COPY d /stage/
FROM busybox
COPY --exclude=*.log d /d/
COPY --exclude=*.log d/* /glob/
COPY --from=src --exclude=*.txt /stage /fromstage/
`
	img, rec := e.mustBuild(t, dir, df, Options{})
	fs := flat(t, img)
	fileOf(t, fs, "/d/a.txt")
	fileOf(t, fs, "/glob/a.txt")
	fileOf(t, fs, "/fromstage/b.log")
	for _, p := range []string{"d/b.log", "glob/b.log", "fromstage/a.txt"} {
		if _, ok := fs[p]; ok {
			t.Errorf("--exclude: %s copied\n%s", p, rec.log())
		}
	}
}
