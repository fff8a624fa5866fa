package project

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestLegacyInitialSync(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.yaml")
	b := filepath.Join(dir, "b.yaml")
	if err := os.WriteFile(a, []byte(`services:
  web:
    develop:
      watch:
        - {path: ., target: /data, action: sync, x-initialSync: true}
        - {path: ., target: /data, action: sync, x-initialSync: true, initial_sync: false}
        - {path: ., target: /data, action: sync, initial_sync: true}
        - {path: ., target: /data, action: sync, x-initialSync: false}
  old:
    x-develop:
      watch:
        - {path: ., target: /data, action: sync}
        - {path: ., target: /data, action: sync, x-initialSync: "true"}
  plain:
    image: alpine
`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b, []byte("services: [broken\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got := LegacyInitialSync([]string{a, b, filepath.Join(dir, "missing.yaml")})
	want := map[string][]int{"web": {0}, "old": {1}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("LegacyInitialSync = %v, want %v", got, want)
	}
}
