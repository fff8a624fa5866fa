package project

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"gopkg.in/yaml.v3"
)

// Table tests for the steps of ArtifactFiles and OCILoader.pull.

func TestLayerRole(t *testing.T) {
	for _, tc := range []struct {
		name  string
		d     v1.Descriptor
		role  int
		fname string
	}{
		{"compose file", v1.Descriptor{MediaType: MediaTypeComposeFile, Annotations: map[string]string{AnnotationFile: "compose.yaml"}}, layerCompose, ""},
		{"extends file", v1.Descriptor{MediaType: MediaTypeComposeFile, Annotations: map[string]string{AnnotationFile: "ab.yaml", AnnotationExtends: "true"}}, layerFile, "ab.yaml"},
		{"extends false is a compose file", v1.Descriptor{MediaType: MediaTypeComposeFile, Annotations: map[string]string{AnnotationFile: "x.yaml", AnnotationExtends: "false"}}, layerCompose, ""},
		{"env file", v1.Descriptor{MediaType: MediaTypeEnvFile, Annotations: map[string]string{AnnotationEnvFile: "cd.env", AnnotationFile: "ignored"}}, layerFile, "cd.env"},
		{"env file without a name", v1.Descriptor{MediaType: MediaTypeEnvFile}, layerFile, ""},
		{"another kind", v1.Descriptor{MediaType: "application/vnd.oci.image.layer.v1.tar", Annotations: map[string]string{AnnotationFile: "x"}}, layerOther, ""},
	} {
		if role, fname := layerRole(tc.d); role != tc.role || fname != tc.fname {
			t.Errorf("%s: role %d name %q, want %d %q", tc.name, role, fname, tc.role, tc.fname)
		}
	}
}

func TestCheckPulled(t *testing.T) {
	const ext = "0123abcd.yaml"
	for _, tc := range []struct {
		name    string
		compose []string
		files   map[string]string // written into the pull directory
		err     string
	}{
		{"no compose file", nil, nil, "the artifact holds no compose file"},
		{"plain", []string{"services: {web: {image: nginx}}"}, nil, ""},
		{"extends a file of the artifact", []string{"services: {web: {extends: {file: " + ext + ", service: base}}}"},
			map[string]string{ext: "services: {base: {image: nginx}}"}, ""},
		{"extends a file it lacks", []string{"services: {web: {extends: {file: other.yaml, service: base}}}"}, nil,
			`service web: extends file "other.yaml" is not a file of the artifact`},
		{"local include", []string{"include: [../secrets.yaml]"}, nil,
			"include ../secrets.yaml: a published project may not include a local file"},
		{"an extends file is checked too", []string{"services: {web: {image: nginx}}"},
			map[string]string{ext: "services: {base: {env_file: ../../etc/passwd}}"},
			ext + `: service base: env_file "../../etc/passwd" is not a file of the artifact`},
	} {
		tmp := t.TempDir()
		names := map[string]bool{}
		for n, data := range tc.files {
			if err := os.WriteFile(filepath.Join(tmp, n), []byte(data), 0o600); err != nil {
				t.Fatal(err)
			}
			names[n] = true
		}
		var compose [][]byte
		for _, c := range tc.compose {
			compose = append(compose, []byte(c))
		}
		err := checkPulled(tmp, compose, names)
		if got := errString(err); got != tc.err {
			t.Errorf("%s: error %q, want %q", tc.name, got, tc.err)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestArtifactEnvFilesRename(t *testing.T) {
	env := &artifactEnvFiles{names: map[string]string{}}
	var got []string
	for _, tc := range []struct{ value, base string }{
		{"app.env", "/proj"},
		{"/proj/db.env", "/elsewhere"},
		{"./app.env", "/proj"}, // the same file again: named once
		{"../shared.env", "/proj/sub"},
	} {
		n := &yaml.Node{Kind: yaml.ScalarNode, Value: tc.value}
		env.rename(n, tc.base)
		got = append(got, n.Value)
	}
	want := []string{hashName("/proj/app.env", ".env"), hashName("/proj/db.env", ".env"), hashName("/proj/app.env", ".env"), hashName("/proj/shared.env", ".env")}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("renamed %q, want %q", got, want)
	}
	if wantOrder := []string{"/proj/app.env", "/proj/db.env", "/proj/shared.env"}; !reflect.DeepEqual(env.order, wantOrder) {
		t.Errorf("order %q, want %q", env.order, wantOrder)
	}
}

func TestRenameExtends(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "base.yaml")
	if err := os.WriteFile(base, []byte("services: {}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "compose.yaml")
	for _, tc := range []struct {
		name, svc string
		abs       string
		value     string // extends.file afterwards
		err       string
	}{
		{"local file", "extends: {file: base.yaml, service: b}", base, hashName(base, ".yaml"), ""},
		{"same file", "extends: b", "", "", ""},
		{"no file key", "extends: {service: b}", "", "", ""},
		{"remote", "extends: {file: 'oci://example.com/x:1', service: b}", "", "oci://example.com/x:1", ""},
		{"missing", "extends: {file: gone.yaml, service: b}", "", "gone.yaml", file + ": extends file gone.yaml: "},
		{"no extends", "image: nginx", "", "", ""},
	} {
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(tc.svc), &doc); err != nil {
			t.Fatal(err)
		}
		svc := doc.Content[0]
		abs, err := renameExtends(svc, file)
		if got := errString(err); tc.err == "" && got != "" || !strings.HasPrefix(got, tc.err) {
			t.Errorf("%s: error %q, want %q…", tc.name, got, tc.err)
		}
		if abs != tc.abs {
			t.Errorf("%s: path %q, want %q", tc.name, abs, tc.abs)
		}
		if fn := mapValue(mapValue(svc, "extends"), "file"); fn != nil && fn.Value != tc.value {
			t.Errorf("%s: extends.file %q, want %q", tc.name, fn.Value, tc.value)
		}
	}
}
