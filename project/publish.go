package project

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/DefangLabs/secret-detector/pkg/scanner"
	"github.com/DefangLabs/secret-detector/pkg/secrets"
	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"gopkg.in/yaml.v3"
)

// A project published as an OCI artifact (`berth publish`) has Compose's
// layout: artifact type ArtifactType, one layer per compose file
// (MediaTypeComposeFile, its name in AnnotationFile), the local files
// that extends: names (AnnotationExtends set), and with --with-env the
// env files (MediaTypeEnvFile, named in AnnotationEnvFile).
const (
	ArtifactType         = "application/vnd.docker.compose.project"
	MediaTypeComposeFile = "application/vnd.docker.compose.file+yaml"
	MediaTypeEnvFile     = "application/vnd.docker.compose.envfile"
	AnnotationFile       = "com.docker.compose.file"
	AnnotationExtends    = "com.docker.compose.extends"
	AnnotationEnvFile    = "com.docker.compose.envfile"
	AnnotationVersion    = "com.docker.compose.version"
)

// ArtifactFile is one layer of a published project.
type ArtifactFile struct {
	Name      string // file name in the artifact: a base name, no separator
	MediaType string // MediaTypeComposeFile or MediaTypeEnvFile
	Extends   bool   // a file named by extends:
	Data      []byte
}

// Annotations are the layer's annotations, as Compose writes them.
func (f ArtifactFile) Annotations(version string) map[string]string {
	a := map[string]string{AnnotationVersion: version}
	if f.MediaType == MediaTypeEnvFile {
		a[AnnotationEnvFile] = f.Name
		return a
	}
	a[AnnotationFile] = f.Name
	if f.Extends {
		a[AnnotationExtends] = "true"
	}
	return a
}

// BuildOnlyError names the services that have a build section and no
// image: a published project could not run them.
type BuildOnlyError struct{ Services []string }

func (e *BuildOnlyError) Error() string {
	var b strings.Builder
	b.WriteString("your Compose stack cannot be published as it only contains a build section for service(s):")
	for _, s := range e.Services {
		fmt.Fprintf(&b, "\n- %q", s)
	}
	return b.String()
}

// ErrLocalInclude: a project that includes a local file cannot be
// published (the included file would not travel with it).
var ErrLocalInclude = errors.New("cannot publish compose file with local includes")

// CheckPublishable refuses what Compose refuses to publish: services with
// only a build section, and include: of local files.
func CheckPublishable(p *types.Project) error {
	var buildOnly []string
	for name, s := range p.Services {
		if s.Build != nil && s.Image == "" {
			buildOnly = append(buildOnly, name)
		}
	}
	if len(buildOnly) > 0 {
		sort.Strings(buildOnly)
		return &BuildOnlyError{Services: buildOnly}
	}
	for _, f := range p.ComposeFiles {
		doc, err := readYAML(f)
		if err != nil {
			return err
		}
		for _, path := range includePaths(mapValue(doc, "include")) {
			if !isRemote(path) {
				return fmt.Errorf("%s: include %s: %w", f, path, ErrLocalInclude)
			}
		}
	}
	return nil
}

// isRemote tells a remote resource (oci://…, a git URL) from a local path.
func isRemote(path string) bool {
	return strings.Contains(path, "://") || strings.HasPrefix(path, "git@")
}

// includePaths lists the paths of an include: node (short and long
// syntax, path: a string or a list).
func includePaths(n *yaml.Node) []string {
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	var out []string
	for _, item := range n.Content {
		switch item.Kind {
		case yaml.ScalarNode:
			out = append(out, item.Value)
		case yaml.MappingNode:
			p := mapValue(item, "path")
			if p == nil {
				continue
			}
			if p.Kind == yaml.ScalarNode {
				out = append(out, p.Value)
			}
			for _, s := range p.Content {
				out = append(out, s.Value)
			}
		}
	}
	return out
}

// BindMounts lists, per service, the bind mounts a published project
// would declare (as "source:target:mode").
func BindMounts(p *types.Project) map[string][]string {
	out := map[string][]string{}
	for name, s := range p.Services {
		for _, v := range s.Volumes {
			if v.Type == types.VolumeTypeBind {
				out[name] = append(out[name], v.String())
			}
		}
	}
	return out
}

// EnvFinding is what a service would publish of its environment: an
// env_file declaration, literal values of sensitive-looking keys.
type EnvFinding struct {
	EnvFile       bool
	SuspiciousKey []string // sorted
}

// interpolation matches ${VAR}, ${VAR:-x}, $VAR.
var interpolation = regexp.MustCompile(`\$([A-Za-z_][A-Za-z0-9_]*|\{[^}]+\})`)

// sensitiveWords make a variable name look like it holds a secret.
var sensitiveWords = []string{"PASSWORD", "PASSWD", "SECRET", "TOKEN", "CREDENTIAL", "PRIVATE", "APIKEY", "API_KEY", "ACCESS_KEY", "AUTH"}

// SensitiveKey reports whether an environment variable's name looks like
// it holds a secret (MYSQL_ROOT_PASSWORD, API_KEY, GITHUB_TOKEN…).
func SensitiveKey(key string) bool {
	k := strings.ToUpper(key)
	for _, w := range sensitiveWords {
		if strings.Contains(k, w) {
			return true
		}
	}
	for _, part := range strings.FieldsFunc(k, func(r rune) bool { return r == '_' || r == '-' || r == '.' }) {
		if part == "KEY" || part == "PWD" || part == "PASS" {
			return true
		}
	}
	return false
}

// EnvFindings walks the files a publication serializes (the compose files
// and the local files extends: names), uninterpolated, and lists per
// service the env_file declarations and the literal values of
// sensitive-looking keys. Interpolated values ("${DB_PASSWORD}") stay
// symbolic in the artifact and are not findings.
func EnvFindings(ctx context.Context, p *types.Project) (map[string]*EnvFinding, error) {
	out := map[string]*EnvFinding{}
	seen := map[string]bool{}
	queue := append([]string{}, p.ComposeFiles...)
	for len(queue) > 0 {
		f := queue[0]
		queue = queue[1:]
		if seen[f] {
			continue
		}
		seen[f] = true
		raw, err := loadRaw(ctx, p, f)
		if err != nil {
			return nil, err
		}
		for name, s := range raw.Services {
			fi := out[name]
			if fi == nil {
				fi = &EnvFinding{}
			}
			if len(s.EnvFiles) > 0 {
				fi.EnvFile = true
			}
			for k, v := range s.Environment {
				if v != nil && !interpolation.MatchString(*v) && SensitiveKey(k) && !contains(fi.SuspiciousKey, k) {
					fi.SuspiciousKey = append(fi.SuspiciousKey, k)
				}
			}
			sort.Strings(fi.SuspiciousKey)
			if fi.EnvFile || len(fi.SuspiciousKey) > 0 {
				out[name] = fi
			}
			if s.Extends != nil && s.Extends.File != "" && !isRemote(s.Extends.File) {
				queue = append(queue, absFrom(filepath.Dir(f), s.Extends.File))
			}
		}
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// loadRaw loads one compose file as written: no interpolation, no
// extends, no include, environment not resolved.
func loadRaw(ctx context.Context, p *types.Project, file string) (*types.Project, error) {
	registerFormats()
	raw, err := loader.LoadWithContext(ctx, types.ConfigDetails{
		WorkingDir:  p.WorkingDir,
		Environment: p.Environment,
		ConfigFiles: []types.ConfigFile{{Filename: file}},
	}, func(o *loader.Options) {
		o.SkipValidation = true
		o.SkipExtends = true
		o.SkipInclude = true
		o.SkipConsistencyCheck = true
		o.SkipInterpolation = true
		o.SkipResolveEnvironment = true
		o.ResolvePaths = true
		o.SetProjectName(p.Name, true)
		o.Profiles = []string{"*"}
	})
	if err != nil {
		return nil, fmt.Errorf("compose file %s: %w", file, err)
	}
	return raw, nil
}

// Secret is a piece of sensitive data found in what a publication would
// carry: the detector's name, the key it sits under ("" for a whole
// file) and the value.
type Secret struct{ Type, Key, Value string }

// SensitiveData scans, with the detectors Compose uses, the compose files
// (as loaded, uninterpolated), the env files, and the files of configs
// and secrets.
func SensitiveData(ctx context.Context, p *types.Project) ([]Secret, error) {
	scan := scanner.NewDefaultScanner()
	var out []Secret
	var files []string // env files (the loaded project has them merged away)
	for _, f := range p.ComposeFiles {
		raw, err := loadRaw(ctx, p, f)
		if err != nil {
			return nil, err
		}
		for _, name := range sortedKeys(raw.Services) {
			for _, ef := range raw.Services[name].EnvFiles {
				if _, err := os.Stat(ef.Path); err == nil && !contains(files, ef.Path) {
					files = append(files, ef.Path)
				}
			}
		}
		b, err := raw.MarshalYAML()
		if err != nil {
			return nil, err
		}
		found, err := scan.ScanReader(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("scan compose file %s: %w", f, err)
		}
		out = append(out, secretsOf(found)...)
	}
	files = append(files, sortedConfigs(p.Configs)...)
	for _, name := range sortedKeys(p.Secrets) {
		if f := p.Secrets[name].File; f != "" {
			files = append(files, f)
		}
	}
	for _, f := range files {
		found, err := scan.ScanFile(f)
		if err != nil {
			return nil, fmt.Errorf("scan %s: %w", f, err)
		}
		out = append(out, secretsOf(found)...)
	}
	return out, nil
}

func sortedConfigs(m types.Configs) []string {
	var files []string
	for _, name := range sortedKeys(m) {
		if f := m[name].File; f != "" {
			files = append(files, f)
		}
	}
	return files
}

func secretsOf(in []secrets.DetectedSecret) []Secret {
	out := make([]Secret, len(in))
	for i, s := range in {
		out[i] = Secret{Type: s.Type, Key: s.Key, Value: s.Value}
	}
	return out
}

// ArtifactFiles are the layers of the published project: each compose
// file as written, with the paths of extends: files and env_file: entries
// replaced by the names they have in the artifact (sha256 of the path,
// as Compose names them); then the extends files, likewise; then, with
// withEnv, the env files.
func ArtifactFiles(p *types.Project, withEnv bool) ([]ArtifactFile, error) {
	var out []ArtifactFile
	env := &artifactEnvFiles{names: map[string]string{}}
	done := map[string]bool{}
	queue := []artifactItem{}
	for _, f := range p.ComposeFiles {
		queue = append(queue, artifactItem{path: f})
	}
	for len(queue) > 0 {
		it := queue[0]
		queue = queue[1:]
		if done[it.path] {
			continue
		}
		done[it.path] = true
		f, extends, err := composeArtifact(p.WorkingDir, it, env)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
		queue = append(queue, extends...)
	}
	if withEnv {
		for _, abs := range env.order {
			data, err := os.ReadFile(abs)
			if err != nil {
				return nil, fmt.Errorf("env file %s: %w", abs, err)
			}
			out = append(out, ArtifactFile{Name: env.names[abs], MediaType: MediaTypeEnvFile, Data: data})
		}
	}
	return out, nil
}

// artifactItem is a compose file to publish: one of the project's, or
// one that a service extends.
type artifactItem struct {
	path    string
	extends bool
}

// artifactEnvFiles are the env files the published files name: their
// names in the artifact by absolute path, and the paths in the order
// first named.
type artifactEnvFiles struct {
	names map[string]string
	order []string
}

// rename gives env_file entry n, relative to base, its name in the
// artifact.
func (e *artifactEnvFiles) rename(n *yaml.Node, base string) {
	abs := absFrom(base, n.Value)
	name := hashName(abs, ".env")
	if _, ok := e.names[abs]; !ok {
		e.names[abs] = name
		e.order = append(e.order, abs)
	}
	n.Value = name
}

// composeArtifact is the layer of compose file it, rewritten as
// ArtifactFiles says, and the extends files it names.
func composeArtifact(workingDir string, it artifactItem, env *artifactEnvFiles) (ArtifactFile, []artifactItem, error) {
	doc, err := readYAML(it.path)
	if err != nil {
		return ArtifactFile{}, nil, err
	}
	// An extended file's paths are relative to it, the project's compose
	// files' to the project directory.
	base := workingDir
	if it.extends {
		base = filepath.Dir(it.path)
	}
	var extends []artifactItem
	services := mapValue(doc, "services")
	if services != nil && services.Kind == yaml.MappingNode {
		for i := 1; i < len(services.Content); i += 2 {
			svc := services.Content[i]
			for _, n := range envFileNodes(mapValue(svc, "env_file")) {
				env.rename(n, base)
			}
			abs, err := renameExtends(svc, it.path)
			if err != nil {
				return ArtifactFile{}, nil, err
			}
			if abs != "" {
				extends = append(extends, artifactItem{path: abs, extends: true})
			}
		}
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return ArtifactFile{}, nil, fmt.Errorf("%s: %w", it.path, err)
	}
	name := filepath.Base(it.path)
	if it.extends {
		name = hashName(it.path, ".yaml")
	}
	return ArtifactFile{Name: name, MediaType: MediaTypeComposeFile, Extends: it.extends, Data: b.Bytes()}, extends, nil
}

// renameExtends gives the local file that service node svc of file
// extends (relative to file) its name in the artifact, and returns its
// absolute path; "" when svc extends no local file.
func renameExtends(svc *yaml.Node, file string) (string, error) {
	ext := mapValue(svc, "extends")
	if ext == nil || ext.Kind != yaml.MappingNode {
		return "", nil
	}
	fn := mapValue(ext, "file")
	if fn == nil || fn.Value == "" || isRemote(fn.Value) {
		return "", nil
	}
	abs := absFrom(filepath.Dir(file), fn.Value)
	if _, err := os.Stat(abs); err != nil {
		return "", fmt.Errorf("%s: extends file %s: %w", file, fn.Value, err)
	}
	fn.Value = hashName(abs, ".yaml")
	return abs, nil
}

func hashName(path, ext string) string {
	return fmt.Sprintf("%x%s", sha256.Sum256([]byte(path)), ext)
}

func absFrom(dir, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(dir, p)
}

// envFileNodes are the path scalars of an env_file: node (a string, a
// list of strings, a list of {path: …}).
func envFileNodes(n *yaml.Node) []*yaml.Node {
	if n == nil {
		return nil
	}
	if n.Kind == yaml.ScalarNode {
		return []*yaml.Node{n}
	}
	var out []*yaml.Node
	for _, item := range n.Content {
		switch item.Kind {
		case yaml.ScalarNode:
			out = append(out, item)
		case yaml.MappingNode:
			if p := mapValue(item, "path"); p != nil && p.Kind == yaml.ScalarNode {
				out = append(out, p)
			}
		}
	}
	return out
}

// readYAML parses a compose file into its document's root mapping.
func readYAML(file string) (*yaml.Node, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("compose file %s: %w", file, unwrapPathError(err))
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("compose file %s: %w", file, err)
	}
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		return doc.Content[0], nil
	}
	return &yaml.Node{Kind: yaml.MappingNode}, nil
}

// mapValue is the value of key in a mapping node, nil if absent.
func mapValue(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// ImageDigestsFile is the override file `publish --resolve-image-digests`
// adds: each service's image pinned to a digest.
func ImageDigestsFile(images map[string]string) (ArtifactFile, error) {
	type svc struct {
		Image string `yaml:"image"`
	}
	doc := struct {
		Services map[string]svc `yaml:"services"`
	}{Services: map[string]svc{}}
	for name, img := range images {
		doc.Services[name] = svc{Image: img}
	}
	b, err := yaml.Marshal(doc)
	if err != nil {
		return ArtifactFile{}, err
	}
	return ArtifactFile{Name: "image-digests.yaml", MediaType: MediaTypeComposeFile, Data: b}, nil
}
