package image

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzUnpack: whatever three entries a layer holds (any names, types and
// link targets, in any order), Unpack writes nothing outside its root: a
// sibling directory and the parent stay exactly as they were. A layer is
// the most untrusted input berth reads (decision 3 of docs/design.md).
func FuzzUnpack(f *testing.F) {
	seeds := []struct {
		n1    string
		t1    byte
		l1    string
		n2    string
		t2    byte
		l2    string
		n3    string
		t3    byte
		l3    string
		body  []byte
		tarok bool
	}{
		{"link", tar.TypeSymlink, "../outside", "link/pwned", tar.TypeReg, "", "", tar.TypeDir, "", []byte("x"), true},
		{"a", tar.TypeSymlink, "/", "a/etc/passwd", tar.TypeReg, "", "", 0, "", []byte("x"), true},
		{"b", tar.TypeSymlink, "../outside", "a", tar.TypeSymlink, "b", "a/x", tar.TypeReg, "", nil, true},
		{"h", tar.TypeLink, "../outside/keep", "d/", tar.TypeDir, "", "d/.wh..wh..opq", tar.TypeReg, "", nil, true},
		{"../../x", tar.TypeReg, "", "x/../../y", tar.TypeDir, "", "./.wh.z", tar.TypeReg, "", nil, true},
		{"l", tar.TypeSymlink, "..", "l/outside/keep", tar.TypeReg, "", "l/outside/new", tar.TypeFifo, "", nil, true},
		{"dev", tar.TypeChar, "", "dev2", tar.TypeBlock, "", "dev", tar.TypeLink, "dev2", nil, true},
	}
	for _, s := range seeds {
		f.Add(s.n1, s.t1, s.l1, s.n2, s.t2, s.l2, s.n3, s.t3, s.l3, s.body)
	}
	f.Fuzz(func(t *testing.T, n1 string, t1 byte, l1, n2 string, t2 byte, l2, n3 string, t3 byte, l3 string, body []byte) {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		for _, e := range []struct {
			name string
			typ  byte
			link string
		}{{n1, t1, l1}, {n2, t2, l2}, {n3, t3, l3}} {
			if e.name == "" {
				continue
			}
			hdr := &tar.Header{Name: e.name, Typeflag: e.typ, Linkname: e.link, Mode: 0o755, Format: tar.FormatPAX}
			if e.typ == tar.TypeReg || e.typ == 0 {
				hdr.Size = int64(len(body))
			}
			if tw.WriteHeader(hdr) != nil {
				return // not a header tar can write: nothing to test
			}
			if hdr.Size > 0 {
				if _, err := tw.Write(body); err != nil {
					return
				}
			}
		}
		if tw.Close() != nil {
			return
		}

		base := t.TempDir()
		root, outside := filepath.Join(base, "root"), filepath.Join(base, "outside")
		if err := os.Mkdir(root, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(outside, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(outside, "keep"), []byte("keep"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, _ = Unpack(context.Background(), bytes.NewReader(buf.Bytes()), root)

		ents, err := os.ReadDir(base)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		if strings.Join(names, ",") != "outside,root" {
			t.Fatalf("entries %q/%q/%q: the parent of the layer root now holds %v", n1, n2, n3, names)
		}
		ents, err = os.ReadDir(outside)
		if err != nil {
			t.Fatal(err)
		}
		if len(ents) != 1 || ents[0].Name() != "keep" {
			t.Fatalf("entries %q/%q/%q: wrote into a sibling of the layer root: %v", n1, n2, n3, ents)
		}
		fi, err := os.Lstat(filepath.Join(outside, "keep"))
		if err != nil || !fi.Mode().IsRegular() || fi.Size() != 4 {
			t.Fatalf("entries %q/%q/%q: the sibling's file changed: %v %v", n1, n2, n3, fi, err)
		}
		if b, _ := os.ReadFile(filepath.Join(outside, "keep")); string(b) != "keep" {
			t.Fatalf("entries %q/%q/%q: the sibling's file was written: %q", n1, n2, n3, b)
		}
	})
}
