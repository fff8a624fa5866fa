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
	for n, want := range imgs {
		file := filepath.Join(dir, strings.TrimSuffix(n, ":latest")+".tar")
		if !strings.Contains(stdout.String(), file) {
			t.Errorf("stdout does not list %s:\n%s", file, stdout.String())
		}
		tag, _ := name.NewTag(n)
		got, err := tarball.ImageFromPath(file, &tag)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		gd, err := got.Digest()
		if err != nil {
			t.Fatal(err)
		}
		wd, _ := want.Digest()
		if gd != wd {
			t.Errorf("%s: digest %s, want %s", file, gd, wd)
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
