package names

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestValidNames(t *testing.T) {
	good := []string{"ab", "web", "my-app_1", "a.b", "A1", "db.2"}
	bad := []string{"", "a", "..", ".", "../x", "../../x", "a/b", "/web", ".hidden",
		"-flag", "_x", "a\x00b", "a b", "é1", "ab\n", strings.Repeat("a", 256)}
	for _, n := range good {
		for _, f := range []func(string) error{ValidContainerName, ValidVolumeName, ValidNetworkName} {
			if err := f(n); err != nil {
				t.Errorf("%q: %v", n, err)
			}
		}
	}
	for _, n := range bad {
		for _, f := range []func(string) error{ValidContainerName, ValidVolumeName, ValidNetworkName} {
			if err := f(n); err == nil {
				t.Errorf("%q accepted", n)
			}
		}
	}
	if ValidNetworkName(strings.Repeat("n", 129)) == nil {
		t.Error("129-character network name accepted")
	}
}

func TestValidProjectName(t *testing.T) {
	for _, n := range []string{"a", "myapp", "my-app_2", "0x"} {
		if err := ValidProjectName(n); err != nil {
			t.Errorf("%q: %v", n, err)
		}
	}
	for _, n := range []string{"", "../x", "My", "-x", "_x", "a.b", "a/b", "x\x00"} {
		if err := ValidProjectName(n); err == nil {
			t.Errorf("%q accepted", n)
		} else if !strings.Contains(err.Error(), "project") || !errors.Is(err, ErrInvalid) {
			t.Errorf("%q: error does not say what it is: %v", n, err)
		}
	}
}

func TestValidConfigName(t *testing.T) {
	for _, n := range []string{"a", ".env", "my_secret.txt", "-x"} {
		if err := ValidConfigName("config", n); err != nil {
			t.Errorf("%q: %v", n, err)
		}
	}
	for _, n := range []string{"", ".", "..", "a/b", "../x", "x\x00"} {
		if err := ValidConfigName("secret", n); err == nil {
			t.Errorf("%q accepted", n)
		}
	}
}

// FuzzNames checks the property every caller relies on: an accepted name is
// exactly one path component that stays beneath the directory it is joined to.
func FuzzNames(f *testing.F) {
	for _, s := range []string{"ab", "..", "../x", "a/b", ".x", "x\x00", "my_app", "A-1.b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		checks := map[string]func(string) error{
			"container": ValidContainerName, "volume": ValidVolumeName,
			"network": ValidNetworkName, "project": ValidProjectName,
			"config": func(n string) error { return ValidConfigName("config", n) },
		}
		for kind, valid := range checks {
			if valid(name) != nil {
				continue
			}
			joined := filepath.Join("/root", name)
			if filepath.Dir(joined) != "/root" || filepath.Base(joined) != name {
				t.Fatalf("%s name %q leaves its directory: %s", kind, name, joined)
			}
			if strings.ContainsAny(name, "/\x00") || name == "." || name == ".." || len(name) > maxFileName {
				t.Fatalf("%s name %q accepted", kind, name)
			}
		}
	})
}
