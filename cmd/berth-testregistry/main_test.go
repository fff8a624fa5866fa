package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/berth-dev/berth/internal/testimages"
)

func TestSave(t *testing.T) {
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	if code := run([]string{"--save", dir}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	imgs, err := testimages.Standard()
	if err != nil {
		t.Fatal(err)
	}
	if imgs[testimages.GolangName], err = testimages.Golang(); err != nil {
		t.Fatal(err)
	}
	for n, want := range imgs {
		file := filepath.Join(dir, strings.SplitN(n, ":", 2)[0]+".tar")
		if !strings.Contains(stdout.String(), file) {
			t.Errorf("stdout does not list %s:\n%s", file, stdout.String())
		}
		tag, _ := name.NewTag(n)
		got, err := tarball.ImageFromPath(file, &tag)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		// The image ID (config digest) and the layers are what a load
		// keeps; a docker-save tarball holds no manifest of its own, so
		// the manifest digest of a re-read image may differ (an
		// uncompressed layer's media type is not recorded).
		gc, err := got.ConfigName()
		if err != nil {
			t.Fatal(err)
		}
		wc, _ := want.ConfigName()
		if gc != wc {
			t.Errorf("%s: image ID %s, want %s", file, gc, wc)
		}
		gl, err := got.Layers()
		if err != nil {
			t.Fatal(err)
		}
		wl, _ := want.Layers()
		if len(gl) != len(wl) {
			t.Fatalf("%s: %d layers, want %d", file, len(gl), len(wl))
		}
		for i := range gl {
			gd, err := gl[i].Digest()
			if err != nil {
				t.Fatal(err)
			}
			if wd, _ := wl[i].Digest(); gd != wd {
				t.Errorf("%s: layer %d is %s, want %s", file, i, gd, wd)
			}
		}
	}
}

func TestBadArgs(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"extra"}, &stdout, &stderr); code != 2 {
		t.Errorf("exit %d, want 2", code)
	}
	if code := run([]string{"--nosuchflag"}, &stdout, &stderr); code != 2 {
		t.Errorf("exit %d, want 2", code)
	}
}
