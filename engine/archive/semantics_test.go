package archive

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// tree lists the files under dir as "path=content" (dirs as "path/").
func tree(t *testing.T, dir string) string {
	t.Helper()
	var out []string
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if fi.IsDir() {
			out = append(out, rel+"/")
		} else {
			b, _ := os.ReadFile(p)
			out = append(out, rel+"="+string(b))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

// TestCopySemantics: where a copy lands, after Docker's cp rules (a file
// or a directory, onto nothing, a file or a directory, with "/" and
// "/." suffixes).
func TestCopySemantics(t *testing.T) {
	ctr := t.TempDir()
	write(t, filepath.Join(ctr, "f"), "F")
	write(t, filepath.Join(ctr, "d", "a"), "A")
	root := openRoot(t, ctr)
	for _, c := range []struct {
		name, src, dst string // dst relative to a host dir holding file "file" and dir "dir/"
		want, err      string
	}{
		{"file to new", "/f", "new", "dir/ file=old new=F", ""},
		{"file to new dir/", "/f", "new/", "", "does not exist"},
		{"file over file", "f", "file", "dir/ file=F", ""},
		{"file into dir", "/f", "dir", "dir/ dir/f=F file=old", ""},
		{"file into dir/", "/f", "dir/", "dir/ dir/f=F file=old", ""},
		{"dir to new", "/d", "new", "dir/ file=old new/ new/a=A", ""},
		{"dir onto file", "/d", "file", "", "onto file"},
		{"dir into dir", "/d", "dir", "dir/ dir/d/ dir/d/a=A file=old", ""},
		{"dir contents into dir", "/d/.", "dir", "dir/ dir/a=A file=old", ""},
		{"dir contents to new", "/d/.", "new", "dir/ file=old new/ new/a=A", ""},
		{"file with /.", "/f/.", "new", "", "not a directory"},
		{"missing", "/nope", "new", "", "no such file"},
	} {
		t.Run(c.name, func(t *testing.T) {
			host := t.TempDir()
			write(t, filepath.Join(host, "file"), "old")
			if err := os.Mkdir(filepath.Join(host, "dir"), 0o755); err != nil {
				t.Fatal(err)
			}
			dst := filepath.Join(host, c.dst)
			if strings.HasSuffix(c.dst, "/") {
				dst += "/"
			}
			err := CopyOut(t.Context(), root, c.src, dst, Options{})
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err = %v; want one with %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := tree(t, host); got != c.want {
				t.Errorf("host tree = %q; want %q", got, c.want)
			}
		})
	}
}
