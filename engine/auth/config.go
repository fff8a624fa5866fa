package auth

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/configfile"
	"github.com/docker/cli/cli/config/types"
	"github.com/docker/docker-credential-helpers/client"
	"github.com/docker/docker-credential-helpers/credentials"

	"github.com/berth-dev/berth/internal/fsutil"
)

// DefaultServer is the key Docker stores Docker Hub's credentials under.
const DefaultServer = "https://index.docker.io/v1/"

// ErrNotLoggedIn is returned by Erase when there is nothing to remove.
var ErrNotLoggedIn = errors.New("not logged in")

// File is a loaded Docker client config file.
type File struct {
	path string
	cf   *configfile.ConfigFile
	// helper runs a credential helper (tests replace it);
	// name is the helper's suffix ("pass" for docker-credential-pass).
	helper func(name string) client.ProgramFunc
}

// Dir is where the config file lives: $DOCKER_CONFIG, else ~/.docker.
func Dir() string { return config.Dir() }

// Load reads dir/config.json (Dir() when dir is empty). A missing file is
// an empty config.
func Load(dir string) (*File, error) {
	if dir == "" {
		dir = Dir()
	}
	path := filepath.Join(dir, config.ConfigFileName)
	cf := configfile.New(path)
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("docker config %s: %w", path, err)
	default:
		if len(bytes.TrimSpace(data)) > 0 {
			if err := cf.LoadFromReader(bytes.NewReader(data)); err != nil {
				return nil, fmt.Errorf("docker config %s: %w", path, err)
			}
		}
	}
	if cf.AuthConfigs == nil {
		cf.AuthConfigs = map[string]types.AuthConfig{}
	}
	return &File{path: path, cf: cf, helper: func(name string) client.ProgramFunc {
		return client.NewShellProgramFunc("docker-credential-" + name)
	}}, nil
}

// Path is the config file's path.
func (f *File) Path() string { return f.path }

// ServerAddress is the key a registry's credentials are kept under, as
// `docker login` chooses it: Docker Hub (no server, docker.io,
// index.docker.io, registry-1.docker.io) is DefaultServer; any other is
// its host[:port], a scheme and path dropped.
func ServerAddress(server string) string {
	s := strings.TrimSpace(server)
	host := s
	if strings.Contains(s, "://") {
		if u, err := url.Parse(s); err == nil && u.Host != "" {
			host = u.Host
		}
	} else {
		host, _, _ = strings.Cut(s, "/")
	}
	switch host {
	case "", "docker.io", "index.docker.io", "registry-1.docker.io":
		return DefaultServer
	}
	return host
}

// Helper is the credential helper that keeps server's credentials
// (credHelpers, else credsStore), or "" for the file itself.
func (f *File) Helper(server string) string {
	if h, ok := f.cf.CredentialHelpers[server]; ok && h != "" {
		return h
	}
	return f.cf.CredentialsStore
}

// ErrBadHelper is returned for a credential helper name that is not a
// plain word: "docker-credential-" + name must be looked up on PATH, never
// taken as a path (a name with a slash would run a file relative to the
// working directory).
var ErrBadHelper = errors.New("invalid credential helper name")

// program is the helper's protocol client, for a name that is a plain word.
func (f *File) program(name string) (client.ProgramFunc, error) {
	if name == "" || strings.ContainsAny(name, "/\\ \t\n") || name == "." || name == ".." {
		return nil, fmt.Errorf("%w %q in %s", ErrBadHelper, name, f.path)
	}
	return f.helper(name), nil
}

// Store keeps user and secret for server (a ServerAddress): in its
// credential helper (the file then holds an empty entry, as Docker's),
// else base64 in the file's `auths`. The file is saved.
func (f *File) Store(server, user, secret string) error {
	if h := f.Helper(server); h != "" {
		prog, err := f.program(h)
		if err != nil {
			return err
		}
		err = client.Store(prog, &credentials.Credentials{ServerURL: server, Username: user, Secret: secret})
		if err != nil {
			return fmt.Errorf("credential helper docker-credential-%s: store: %w", h, err)
		}
		f.cf.AuthConfigs[server] = types.AuthConfig{}
	} else {
		f.cf.AuthConfigs[server] = types.AuthConfig{Username: user, Password: secret}
	}
	return f.Save()
}

// Get returns the credentials kept for server ("" and "" when none).
func (f *File) Get(server string) (user, secret string, err error) {
	if h := f.Helper(server); h != "" {
		prog, err := f.program(h)
		if err != nil {
			return "", "", err
		}
		c, err := client.Get(prog, server)
		if credentials.IsErrCredentialsNotFound(err) {
			return "", "", nil
		}
		if err != nil {
			return "", "", fmt.Errorf("credential helper docker-credential-%s: get: %w", h, err)
		}
		return c.Username, c.Secret, nil
	}
	a, ok := f.cf.AuthConfigs[server]
	if !ok {
		for k, v := range f.cf.AuthConfigs { // legacy keys with a scheme
			if ServerAddress(k) == server {
				a, ok = v, true
			}
		}
	}
	if !ok {
		return "", "", nil
	}
	return a.Username, a.Password, nil
}

// Erase removes server's credentials from its helper and the file, and
// saves the file. Nothing to remove is ErrNotLoggedIn.
func (f *File) Erase(server string) error {
	var keys []string
	for k := range f.cf.AuthConfigs {
		if k == server || ServerAddress(k) == server {
			keys = append(keys, k)
		}
	}
	h := f.Helper(server)
	if len(keys) == 0 && h == "" {
		return fmt.Errorf("%s: %w", server, ErrNotLoggedIn)
	}
	if h != "" {
		prog, err := f.program(h)
		if err != nil {
			return err
		}
		err = client.Erase(prog, server)
		if err != nil && !credentials.IsErrCredentialsNotFound(err) {
			return fmt.Errorf("credential helper docker-credential-%s: erase: %w", h, err)
		}
		if len(keys) == 0 && err != nil {
			return fmt.Errorf("%s: %w", server, ErrNotLoggedIn)
		}
	}
	for _, k := range keys {
		delete(f.cf.AuthConfigs, k)
	}
	return f.Save()
}

// Save writes the file as Docker's encoder does (tab-indented JSON,
// `auth` as base64 of user:password), atomically and with mode 0600 in a
// 0700 directory it makes if needed. A config.json that is a symlink is
// written through (as Docker does, for dotfile managers).
func (f *File) Save() error {
	var buf bytes.Buffer
	if err := f.cf.SaveToWriter(&buf); err != nil {
		return fmt.Errorf("docker config %s: %w", f.path, err)
	}
	path := f.path
	if target, err := filepath.EvalSymlinks(path); err == nil {
		path = target
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("docker config %s: %w", f.path, err)
	}
	if err := fsutil.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		return fmt.Errorf("docker config: %w", err)
	}
	return nil
}
