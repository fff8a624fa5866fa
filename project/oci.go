package project

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"gopkg.in/yaml.v3"
)

// OCIPrefix marks a compose file published as an OCI artifact
// (`-f oci://registry/repo:tag`).
const OCIPrefix = "oci://"

// maxArtifactFile bounds one file of a published project.
const maxArtifactFile = 4 << 20

// OCILoader is compose-go's ResourceLoader for oci:// compose files: it
// pulls the artifact `berth publish` (or `docker compose publish`) pushed
// into a cache directory, one per manifest digest, and hands the loader
// the compose files as one multi-document compose.yaml, with the extends
// and env files beside it under the names the artifact gives them.
//
// What the artifact says is untrusted: file names must be plain base
// names, each file is bounded in size and written into a directory the
// loader made (no symlink can be there), and a published compose file may
// not reach the local disk: include: of a local path, or an extends: or
// env_file: that is not a file of the artifact, is refused.
type OCILoader struct {
	// CacheDir holds the pulled artifacts; empty means
	// $XDG_CACHE_HOME/berth/oci (~/.cache/berth/oci).
	CacheDir string
	// Insecure lists registries spoken to over plain HTTP
	// (--insecure-registry); loopback registries always are.
	Insecure []string
	// Options are added to every registry request (tests: a transport).
	Options []remote.Option

	mu   sync.Mutex
	dirs map[string]string
}

// Accept reports whether path is an oci:// reference.
func (l *OCILoader) Accept(path string) bool { return strings.HasPrefix(path, OCIPrefix) }

// Dir is the local directory of a loaded reference.
func (l *OCILoader) Dir(path string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.dirs[path]
}

// Load pulls the artifact path names (once per digest) and returns the
// path of its compose.yaml.
func (l *OCILoader) Load(ctx context.Context, path string) (string, error) {
	ref := strings.TrimPrefix(path, OCIPrefix)
	r, err := name.ParseReference(ref)
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	if l.insecure(r.Context().RegistryStr()) {
		if r, err = name.ParseReference(ref, name.Insecure); err != nil {
			return "", err
		}
	}
	opts := append([]remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)}, l.Options...)
	desc, err := remote.Get(r, opts...)
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	var m struct {
		v1.Manifest
		ArtifactType string `json:"artifactType"`
	}
	if err := json.Unmarshal(desc.Manifest, &m); err != nil {
		return "", fmt.Errorf("%s: manifest: %w", path, err)
	}
	if m.ArtifactType != ArtifactType && string(m.Config.MediaType) != ArtifactType {
		return "", fmt.Errorf("%s: not a Compose project (artifact type %q, config %q; want %s)", path, m.ArtifactType, m.Config.MediaType, ArtifactType)
	}
	base := l.CacheDir
	if base == "" {
		c, err := os.UserCacheDir()
		if err != nil {
			return "", err
		}
		base = filepath.Join(c, "berth", "oci")
	}
	dir := filepath.Join(base, desc.Digest.Hex)
	main := filepath.Join(dir, "compose.yaml")
	if fi, err := os.Lstat(main); err != nil || !fi.Mode().IsRegular() {
		if err := l.pull(r, m.Layers, base, dir, opts); err != nil {
			return "", fmt.Errorf("%s: %w", path, err)
		}
	}
	l.mu.Lock()
	if l.dirs == nil {
		l.dirs = map[string]string{}
	}
	l.dirs[path] = dir
	l.mu.Unlock()
	return main, nil
}

func (l *OCILoader) insecure(registry string) bool {
	host := registry
	if h, _, err := net.SplitHostPort(registry); err == nil {
		host = h
	}
	if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
		return true
	}
	for _, i := range l.Insecure {
		if i == registry || i == host {
			return true
		}
	}
	return false
}

// pull writes the artifact's files into a new directory, checks them,
// then renames it to dir.
func (l *OCILoader) pull(r name.Reference, layers []v1.Descriptor, base, dir string, opts []remote.Option) error {
	if err := os.MkdirAll(base, 0o700); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(base, ".pull-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	compose, names, err := writeLayers(r, layers, tmp, opts)
	if err != nil {
		return err
	}
	if err := checkPulled(tmp, compose, names); err != nil {
		return err
	}
	if err := writeNew(filepath.Join(tmp, "compose.yaml"), bytes.Join(compose, []byte("\n---\n"))); err != nil {
		return err
	}
	// Another load may have put the same digest there first.
	if err := os.Rename(tmp, dir); err != nil && !errors.Is(err, os.ErrExist) && !errors.Is(err, syscall.ENOTEMPTY) {
		return err
	}
	return nil
}

// How pull uses a layer of the artifact.
const (
	layerOther   = iota // not Compose's: skipped
	layerCompose        // a compose file of the project: joined into compose.yaml
	layerFile           // an extends or env file: written under its name
)

// layerRole says how pull uses layer d and, for a file, under which name
// (not yet checked).
func layerRole(d v1.Descriptor) (role int, fname string) {
	switch {
	case string(d.MediaType) == MediaTypeEnvFile:
		return layerFile, d.Annotations[AnnotationEnvFile]
	case string(d.MediaType) != MediaTypeComposeFile:
		return layerOther, ""
	case d.Annotations[AnnotationExtends] != "true":
		return layerCompose, ""
	}
	return layerFile, d.Annotations[AnnotationFile]
}

// writeLayers fetches every layer, writing the extends and env files into
// tmp under their names, which must be valid and unique; it returns the
// project's compose files and the names written.
func writeLayers(r name.Reference, layers []v1.Descriptor, tmp string, opts []remote.Option) (compose [][]byte, names map[string]bool, err error) {
	names = map[string]bool{}
	for _, d := range layers {
		data, err := fetchBlob(r, d, opts)
		if err != nil {
			return nil, nil, err
		}
		role, fname := layerRole(d)
		switch role {
		case layerOther:
			continue
		case layerCompose:
			compose = append(compose, data)
			continue
		}
		if err := ValidArtifactName(fname); err != nil {
			return nil, nil, err
		}
		if names[fname] {
			return nil, nil, fmt.Errorf("artifact file %q: twice in the artifact", fname)
		}
		names[fname] = true
		if err := writeNew(filepath.Join(tmp, fname), data); err != nil {
			return nil, nil, err
		}
	}
	return compose, names, nil
}

// checkPulled checks that the artifact holds a compose file and that its
// compose files and extends files (in tmp) reference only files it holds.
func checkPulled(tmp string, compose [][]byte, names map[string]bool) error {
	if len(compose) == 0 {
		return errors.New("the artifact holds no compose file")
	}
	for _, data := range compose {
		if err := checkRemoteFile(data, names); err != nil {
			return err
		}
	}
	for n := range names {
		data, err := os.ReadFile(filepath.Join(tmp, n))
		if err == nil && strings.HasSuffix(n, ".yaml") {
			if err := checkRemoteFile(data, names); err != nil {
				return fmt.Errorf("%s: %w", n, err)
			}
		}
	}
	return nil
}

func fetchBlob(r name.Reference, d v1.Descriptor, opts []remote.Option) ([]byte, error) {
	if d.Size > maxArtifactFile {
		return nil, fmt.Errorf("layer %s: %d bytes, more than %d", d.Digest, d.Size, maxArtifactFile)
	}
	l, err := remote.Layer(r.Context().Digest(d.Digest.String()), opts...)
	if err != nil {
		return nil, err
	}
	rc, err := l.Compressed() // checked against the digest as it is read
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, maxArtifactFile+1))
	if err != nil {
		return nil, fmt.Errorf("layer %s: %w", d.Digest, err)
	}
	if int64(len(data)) != d.Size {
		return nil, fmt.Errorf("layer %s: %d bytes, the manifest says %d", d.Digest, len(data), d.Size)
	}
	return data, nil
}

const noFollow = syscall.O_NOFOLLOW

// writeNew creates file, which must not exist, and never through a link.
func writeNew(file string, data []byte) error {
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL|noFollow, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

var artifactName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// ValidArtifactName checks a file name an artifact's annotation gives: a
// plain base name (no separator, not "." or "..", not compose.yaml, which
// the loader writes itself).
func ValidArtifactName(n string) error {
	if len(n) > 255 || !artifactName.MatchString(n) || n == "compose.yaml" || strings.Contains(n, "..") {
		return fmt.Errorf("artifact file name %q: want a plain file name (letters, digits, '.', '_', '-')", n)
	}
	return nil
}

// checkRemoteFile refuses what would make a published compose file read
// the local disk: include: of a local path, extends: or env_file: naming
// anything but a file of the artifact.
func checkRemoteFile(data []byte, names map[string]bool) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return err
		}
		if len(doc.Content) != 1 {
			continue
		}
		root := doc.Content[0]
		for _, p := range includePaths(mapValue(root, "include")) {
			if !isRemote(p) {
				return fmt.Errorf("include %s: a published project may not include a local file", p)
			}
		}
		services := mapValue(root, "services")
		if services == nil || services.Kind != yaml.MappingNode {
			continue
		}
		for i := 0; i+1 < len(services.Content); i += 2 {
			svc, sname := services.Content[i+1], services.Content[i].Value
			if fn := mapValue(mapValue(svc, "extends"), "file"); fn != nil && fn.Value != "" && !isRemote(fn.Value) && !names[fn.Value] {
				return fmt.Errorf("service %s: extends file %q is not a file of the artifact", sname, fn.Value)
			}
			for _, n := range envFileNodes(mapValue(svc, "env_file")) {
				if ValidArtifactName(n.Value) != nil {
					return fmt.Errorf("service %s: env_file %q is not a file of the artifact", sname, n.Value)
				}
			}
		}
	}
}
