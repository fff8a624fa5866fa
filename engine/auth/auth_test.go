package auth

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/docker-credential-helpers/client"
	"github.com/docker/docker-credential-helpers/credentials"

	"github.com/berth-dev/berth/internal/testregistry"
)

func TestServerAddress(t *testing.T) {
	for in, want := range map[string]string{
		"":                             DefaultServer,
		"docker.io":                    DefaultServer,
		"https://index.docker.io/v1/":  DefaultServer,
		"registry-1.docker.io":         DefaultServer,
		"127.0.0.1:5000":               "127.0.0.1:5000",
		"http://127.0.0.1:5000/v2/":    "127.0.0.1:5000",
		"ghcr.io/org":                  "ghcr.io",
		"https://my.registry:443/path": "my.registry:443",
	} {
		if got := ServerAddress(in); got != want {
			t.Errorf("ServerAddress(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestStoreInFile: credentials go to `auths` as Docker writes them
// (base64 user:password under "auth", tab-indented), mode 0600, and
// other keys of the file survive.
func TestStoreInFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), ".docker")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"detachKeys":"ctrl-x"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Store("127.0.0.1:5000", "alice", "s3cret"); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := "{\n\t\"auths\": {\n\t\t\"127.0.0.1:5000\": {\n\t\t\t\"auth\": \"YWxpY2U6czNjcmV0\"\n\t\t}\n\t},\n\t\"detachKeys\": \"ctrl-x\"\n}"
	if string(data) != want {
		t.Errorf("config.json:\n%s\nwant:\n%s", data, want)
	}
	if st, _ := os.Stat(filepath.Join(dir, "config.json")); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600 (the old file was 0644)", st.Mode().Perm())
	}
	f2, _ := Load(dir)
	if u, p, err := f2.Get("127.0.0.1:5000"); u != "alice" || p != "s3cret" || err != nil {
		t.Errorf("Get: %q %q %v", u, p, err)
	}
	if err := f2.Erase("127.0.0.1:5000"); err != nil {
		t.Fatal(err)
	}
	if err := f2.Erase("127.0.0.1:5000"); !errors.Is(err, ErrNotLoggedIn) {
		t.Errorf("second Erase: %v, want ErrNotLoggedIn", err)
	}
	data, _ = os.ReadFile(filepath.Join(dir, "config.json"))
	if strings.Contains(string(data), "127.0.0.1:5000") {
		t.Errorf("after Erase: %s", data)
	}
}

// fakeHelper is an in-memory credential helper speaking the protocol.
type fakeHelper struct {
	creds map[string]credentials.Credentials
	calls []string
}

type fakeProgram struct {
	h      *fakeHelper
	action string
	in     []byte
}

func (p *fakeProgram) Input(r io.Reader) { p.in, _ = io.ReadAll(r) }
func (p *fakeProgram) Output() ([]byte, error) {
	p.h.calls = append(p.h.calls, p.action)
	switch p.action {
	case "store":
		var c credentials.Credentials
		if err := json.Unmarshal(p.in, &c); err != nil {
			return nil, err
		}
		p.h.creds[c.ServerURL] = c
		return nil, nil
	case "get":
		c, ok := p.h.creds[string(bytes.TrimSpace(p.in))]
		if !ok {
			return []byte(credentials.NewErrCredentialsNotFound().Error()), errors.New("exit status 1")
		}
		return json.Marshal(c)
	case "erase":
		delete(p.h.creds, string(bytes.TrimSpace(p.in)))
		return nil, nil
	}
	return nil, errors.New("unknown action")
}

func TestStoreInHelper(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"credsStore":"fake"}`), 0o600)
	f, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	h := &fakeHelper{creds: map[string]credentials.Credentials{}}
	var named []string
	f.helper = func(name string) client.ProgramFunc {
		named = append(named, name)
		return func(args ...string) client.Program { return &fakeProgram{h: h, action: args[0]} }
	}
	if err := f.Store("reg.example:5000", "bob", "pw"); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "config.json"))
	if strings.Contains(string(data), "pw") || strings.Contains(string(data), "Ym9iOnB3") || !strings.Contains(string(data), `"reg.example:5000": {}`) {
		t.Errorf("config.json holds a secret or lacks the empty entry:\n%s", data)
	}
	if u, p, err := f.Get("reg.example:5000"); u != "bob" || p != "pw" || err != nil {
		t.Errorf("Get: %q %q %v", u, p, err)
	}
	if err := f.Erase("reg.example:5000"); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(h.calls, ","); got != "store,get,erase" || len(h.creds) != 0 {
		t.Errorf("helper calls %s, creds %v", got, h.creds)
	}
	if named[0] != "fake" {
		t.Errorf("helper %q", named[0])
	}
}

func TestVerify(t *testing.T) {
	for name, opt := range map[string]testregistry.Opt{
		"basic": testregistry.WithBasicAuth("alice", "s3cret"),
		"token": testregistry.WithTokenAuth("alice", "s3cret"),
	} {
		t.Run(name, func(t *testing.T) {
			reg, err := testregistry.Start(t.Context(), opt)
			if err != nil {
				t.Fatal(err)
			}
			defer reg.Close()
			if err := Verify(t.Context(), reg.Addr(), "alice", "s3cret", false, nil); err != nil {
				t.Errorf("right password: %v", err)
			}
			err = Verify(t.Context(), reg.Addr(), "alice", "wrong", false, nil)
			if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), testregistry.ErrorMessage) || !strings.Contains(err.Error(), reg.Addr()) {
				t.Errorf("wrong password: %v; want ErrUnauthorized naming the registry with its message", err)
			}
			if strings.Contains(fmtErr(err), "wrong") {
				t.Errorf("the error shows the password: %v", err)
			}
		})
	}
}

func fmtErr(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestBound(t *testing.T) {
	if got := Bound(strings.Repeat("x", 10000)); len(got) > maxMessage+20 {
		t.Errorf("Bound kept %d bytes", len(got))
	}
}

// TestHelperNameIsAWord: a credsStore with a slash is refused, never run
// as a path.
func TestHelperNameIsAWord(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"credsStore":"../../tmp/evil"}`), 0o600)
	f, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	f.helper = func(string) client.ProgramFunc {
		t.Fatal("the helper was run")
		return nil
	}
	if err := f.Store("reg:5000", "u", "p"); !errors.Is(err, ErrBadHelper) {
		t.Errorf("Store: %v", err)
	}
	if _, _, err := f.Get("reg:5000"); !errors.Is(err, ErrBadHelper) {
		t.Errorf("Get: %v", err)
	}
}
