package project

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// writeFiles writes name → content under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func loadIn(t *testing.T, dir string, files ...string) *Options {
	t.Helper()
	return &Options{Files: files, WorkingDir: dir, ProjectName: "pub", Environ: []string{}, Profiles: []string{"*"}}
}

func TestSensitiveKey(t *testing.T) {
	for key, want := range map[string]bool{
		"MYSQL_ROOT_PASSWORD": true, "DB_PASSWORD": true, "API_KEY": true, "GITHUB_TOKEN": true,
		"AWS_SECRET_ACCESS_KEY": true, "client_secret": true, "SSH_KEY": true, "PGPASS": false,
		"FOO": false, "BAR": false, "KEYBOARD_LAYOUT": false, "MONKEY": false, "PATH": false,
	} {
		if got := SensitiveKey(key); got != want {
			t.Errorf("SensitiveKey(%q) = %v, want %v", key, got, want)
		}
	}
}

func TestEnvFindings(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"compose.yaml": `services:
  a:
    image: x
    environment:
      FOO: bar
      DB_PASSWORD: hunter2
      API_TOKEN: ${TOKEN}
  b:
    extends:
      file: base.yaml
      service: base
`,
		"base.yaml": `services:
  base:
    image: y
    env_file: [b.env]
    environment: ["SECRET_KEY=abc", "HOME_DIR=/x"]
`,
		"b.env": "X=1\n",
	})
	p, err := Load(context.Background(), *loadIn(t, dir, "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := EnvFindings(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]*EnvFinding{
		"a":    {SuspiciousKey: []string{"DB_PASSWORD"}}, // API_TOKEN is interpolated
		"base": {EnvFile: true, SuspiciousKey: []string{"SECRET_KEY"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("EnvFindings = %+v, want %+v", got, want)
	}
}

func TestCheckPublishable(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"build.yaml":   "services:\n  b:\n    build: .\n  a:\n    build: .\n  ok:\n    image: x\n    build: .\n",
		"include.yaml": "include:\n  - path: [other.yaml]\nservices:\n  t:\n    image: t\n",
		"remote.yaml":  "services:\n  t:\n    image: t\n",
		"other.yaml":   "services:\n  o:\n    image: o\n",
	})
	ctx := context.Background()
	p, err := Load(ctx, *loadIn(t, dir, "build.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var bo *BuildOnlyError
	if err := CheckPublishable(p); !errors.As(err, &bo) || !reflect.DeepEqual(bo.Services, []string{"a", "b"}) {
		t.Errorf("build-only: %v", err)
	}
	p, err = Load(ctx, *loadIn(t, dir, "include.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckPublishable(p); !errors.Is(err, ErrLocalInclude) {
		t.Errorf("local include: %v, want ErrLocalInclude", err)
	}
	p, err = Load(ctx, *loadIn(t, dir, "remote.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckPublishable(p); err != nil {
		t.Errorf("plain project refused: %v", err)
	}
}

func TestArtifactFiles(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"compose.yaml": "services:\n  app:\n    extends:\n      file: sub/ext.yaml\n      service: t\n    env_file: a.env\n",
		"sub/ext.yaml": "services:\n  t:\n    image: alpine\n",
		"a.env":        "A=1\n",
	})
	p, err := Load(context.Background(), *loadIn(t, dir, "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	files, err := ArtifactFiles(p, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 3 {
		t.Fatalf("%d files, want compose.yaml, the extends file and the env file: %+v", len(files), files)
	}
	ext := hashName(filepath.Join(dir, "sub/ext.yaml"), ".yaml")
	env := hashName(filepath.Join(dir, "a.env"), ".env")
	main := string(files[0].Data)
	if files[0].Name != "compose.yaml" || !strings.Contains(main, "file: "+ext) || !strings.Contains(main, "env_file: "+env) {
		t.Errorf("compose file layer %s:\n%s\nwant paths replaced by %s and %s", files[0].Name, main, ext, env)
	}
	if files[1].Name != ext || !files[1].Extends || files[1].Annotations("v")[AnnotationExtends] != "true" {
		t.Errorf("extends layer: %+v", files[1])
	}
	if files[2].Name != env || files[2].MediaType != MediaTypeEnvFile || string(files[2].Data) != "A=1\n" ||
		files[2].Annotations("v")[AnnotationEnvFile] != env {
		t.Errorf("env layer: %+v", files[2])
	}
	for _, f := range files {
		if err := ValidArtifactName(f.Name); err != nil && f.Name != "compose.yaml" {
			t.Errorf("layer name %q would be refused by the loader: %v", f.Name, err)
		}
	}
	if files, _ := ArtifactFiles(p, false); len(files) != 2 {
		t.Errorf("without --with-env: %d files, want 2 (no env file)", len(files))
	}
}
