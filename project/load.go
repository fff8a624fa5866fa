package project

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/errdefs"
	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
)

// Options say which project to load; they mirror Compose's global flags.
type Options struct {
	// Files are the -f/--file arguments, in order ("-" is stdin). Empty
	// means COMPOSE_FILE, else discovery from WorkingDir upward.
	Files []string
	// ProjectName is -p/--project-name; empty means COMPOSE_PROJECT_NAME,
	// top-level `name:`, or the project directory's base name, normalized.
	ProjectName string
	// ProjectDir is --project-directory.
	ProjectDir string
	// EnvFiles are the --env-file arguments; empty means .env in the
	// project directory.
	EnvFiles []string
	// Profiles are the --profile arguments; empty means COMPOSE_PROFILES.
	Profiles []string
	// Services are the services the command names (`up web`, `run
	// job`). As in Compose, naming a service whose profile is not active
	// activates that profile, so the service is loaded like any other
	// (its env_file read, its dependencies checked).
	Services []string
	// WorkingDir is where discovery starts; empty means the process's
	// working directory.
	WorkingDir string
	// Environ is the environment for interpolation; nil means os.Environ().
	Environ []string

	// NoInterpolate, NoNormalize, NoResolvePaths, NoConsistency and
	// NoEnvResolution switch off the loader stages of the same names
	// (`berth config --no-…`).
	NoInterpolate   bool
	NoNormalize     bool
	NoResolvePaths  bool
	NoConsistency   bool
	NoEnvResolution bool
	// EnvServices, when not empty, are the only services whose
	// environment is resolved (their env_file read), without their
	// dependencies; "*" means every service. Empty means Services and
	// their dependencies, or every service when no service is named.
	// As Compose, a missing env_file of a service the command does not
	// act on fails nothing (`config --hash SERVICE`).
	EnvServices []string

	// InsecureRegistries are spoken to over plain HTTP when a -f file is
	// an oci:// artifact (--insecure-registry).
	InsecureRegistries []string
}

// Load loads, merges, interpolates and validates the project, with the
// errors berth promises: each names the file, service, key or variable at
// fault.
func Load(ctx context.Context, o Options) (*types.Project, error) {
	po, err := o.compose()
	if err != nil {
		return nil, err
	}
	if err := checkFiles(po); err != nil {
		return nil, err
	}
	p, err := po.LoadProject(ctx)
	if err != nil {
		return nil, betterConsistencyError(ctx, o, err, po.ConfigPaths)
	}
	if more := namedProfiles(p, o.Services); len(more) > 0 && !allIn(more, p.Profiles) {
		// Load again with those profiles on: enabling the services
		// afterwards would skip the loader's work on them (env_file).
		// Services stay: their environment is the one resolved, and
		// their profiles are active now, so this loads once more only.
		o.Profiles = append(append([]string{}, p.Profiles...), more...)
		return Load(ctx, o)
	}
	if !o.NoConsistency {
		if err := Validate(p); err != nil {
			return nil, err
		}
	}
	if !o.NoEnvResolution {
		if err := resolveEnvironment(p, o.envServices(p)); err != nil {
			return nil, err
		}
	}
	if len(o.EnvFiles) > 0 {
		// Compose records --env-file on each container, so tools can
		// load the project again as it was.
		files := make([]string, len(o.EnvFiles))
		for i, f := range o.EnvFiles {
			if files[i] = o.abs(f); !filepath.IsAbs(files[i]) {
				files[i], _ = filepath.Abs(files[i])
			}
		}
		for name, s := range p.Services {
			s.CustomLabels = s.CustomLabels.Add(LabelEnvironmentFile, strings.Join(files, ","))
			p.Services[name] = s
		}
	}
	return p, nil
}

// envServices are the services whose environment Load resolves (see
// Options.EnvServices), sorted.
func (o Options) envServices(p *types.Project) []string {
	if len(o.EnvServices) > 0 && !slices.Contains(o.EnvServices, "*") {
		return slices.Sorted(slices.Values(o.EnvServices))
	}
	if len(o.Services) == 0 || len(o.EnvServices) > 0 {
		return ServiceNames(p)
	}
	sel, err := p.WithSelectedServices(o.Services)
	if err != nil {
		// an unknown service: the command says so; resolve what it names
		return slices.Sorted(slices.Values(o.Services))
	}
	return ServiceNames(sel)
}

// resolveEnvironment merges the env_file of each of the services into its
// environment (and its pre_start hooks'), as compose-go's loader does
// for all of them; the other services keep their env_file unread. The
// error of a file that cannot be read names the service.
func resolveEnvironment(p *types.Project, services []string) error {
	for _, name := range services {
		svc, ok := p.Services[name]
		if !ok {
			continue
		}
		one := *p
		one.Services = types.Services{name: svc}
		resolved, err := one.WithServicesEnvironmentResolved(true)
		if err != nil {
			return fmt.Errorf("service %q: %w", name, err)
		}
		p.Services[name] = resolved.Services[name]
	}
	return nil
}

// allIn tells whether every one of these is in set.
func allIn(these, set []string) bool {
	for _, s := range these {
		if !slices.Contains(set, s) {
			return false
		}
	}
	return true
}

// namedProfiles are the profiles of the named services that the loaded
// project left disabled.
func namedProfiles(p *types.Project, services []string) []string {
	var out []string
	for _, name := range services {
		if s, ok := p.DisabledServices[name]; ok {
			out = append(out, s.Profiles...)
		}
	}
	return out
}

// betterConsistencyError replaces compose-go's consistency errors with
// berth's own where it has a clearer one: it loads the project again
// without compose-go's checks and runs Validate.
func betterConsistencyError(ctx context.Context, o Options, err error, files []string) error {
	if !errors.Is(err, errdefs.ErrInvalid) || o.NoConsistency {
		return explain(err, files)
	}
	o.NoConsistency = true
	po, perr := o.compose()
	if perr != nil {
		return err
	}
	p, lerr := po.LoadProject(ctx)
	if lerr != nil {
		return explain(err, files)
	}
	if verr := Validate(p); verr != nil {
		return verr
	}
	return explain(err, files)
}

// Model loads the merged project as a raw YAML tree, without binding it to
// compose-go types (`berth config --no-interpolate`).
func Model(ctx context.Context, o Options) (map[string]any, error) {
	po, err := o.compose()
	if err != nil {
		return nil, err
	}
	if err := checkFiles(po); err != nil {
		return nil, err
	}
	m, err := po.LoadModel(ctx)
	if err != nil {
		return nil, explain(err, po.ConfigPaths)
	}
	return m, nil
}

// compose builds compose-go's options in the order docker compose uses:
// OS env, --env-file/.env, COMPOSE_FILE, discovery, .env of the project
// dir, COMPOSE_PROFILES, then the project name.
func (o Options) compose() (*cli.ProjectOptions, error) {
	registerFormats()
	env := o.Environ
	if env == nil {
		env = os.Environ()
	}
	wd := o.ProjectDir
	envFiles := make([]string, len(o.EnvFiles))
	for i, f := range o.EnvFiles {
		envFiles[i] = o.abs(f)
	}
	files := make([]string, len(o.Files))
	for i, f := range o.Files {
		files[i] = f
		if f != "-" && !strings.HasPrefix(f, OCIPrefix) {
			files[i] = o.abs(f)
		}
	}
	fns := []cli.ProjectOptionsFn{
		cli.WithResourceLoader(&OCILoader{Insecure: o.InsecureRegistries}),
		cli.WithWorkingDirectory(o.abs(wd)),
		cli.WithEnv(env),
		cli.WithEnvFiles(envFiles...),
		cli.WithDotEnv,
		cli.WithConfigFileEnv,
		withDiscovery(o.WorkingDir),
		cli.WithEnvFiles(envFiles...),
		cli.WithDotEnv,
		cli.WithDefaultProfiles(o.Profiles...),
		cli.WithInterpolation(!o.NoInterpolate),
		cli.WithNormalization(!o.NoNormalize),
		cli.WithResolvedPaths(!o.NoResolvePaths),
		cli.WithConsistency(!o.NoConsistency),
		cli.WithDiscardEnvFile,
	}
	// The environment is resolved once the project is loaded, for the
	// services the command acts on only (Load, resolveEnvironment).
	fns = append(fns, cli.WithoutEnvironmentResolution)
	if o.ProjectName != "" {
		if err := CheckName(o.ProjectName); err != nil {
			return nil, err
		}
		fns = append(fns, cli.WithName(o.ProjectName))
	}
	po, err := cli.NewProjectOptions(files, fns...)
	if err != nil {
		return nil, err
	}
	return po, nil
}

func (o Options) abs(p string) string {
	if p == "" || filepath.IsAbs(p) || o.WorkingDir == "" {
		return p
	}
	return filepath.Join(o.WorkingDir, p)
}

// withDiscovery is compose-go's default file discovery, started from dir
// (the process's working directory when empty) unless a project directory
// was given.
func withDiscovery(dir string) cli.ProjectOptionsFn {
	return func(po *cli.ProjectOptions) error {
		if len(po.ConfigPaths) > 0 {
			return nil
		}
		if po.WorkingDir == "" && dir != "" {
			po.WorkingDir = dir
			defer func() { po.WorkingDir = "" }()
		}
		return cli.WithDefaultConfigPath(po)
	}
}

// NoFileError says no compose file was found and where berth looked.
type NoFileError struct {
	Dir string // the directory the upward search started from
}

func (e *NoFileError) Error() string {
	return fmt.Sprintf("no compose file found in %s or any parent directory (looked for %s); use -f to name one",
		e.Dir, strings.Join(cli.DefaultFileNames, ", "))
}

// ErrNoFile matches *NoFileError with errors.Is.
var ErrNoFile = errors.New("no compose file found")

func (e *NoFileError) Is(target error) bool { return target == ErrNoFile }

// checkFiles fails early, naming the search start, when discovery found
// nothing, and names a missing -f file.
func checkFiles(po *cli.ProjectOptions) error {
	if len(po.ConfigPaths) == 0 {
		dir, err := po.GetWorkingDir()
		if err != nil {
			return err
		}
		return &NoFileError{Dir: dir}
	}
	for _, f := range po.ConfigPaths {
		if f == "-" || strings.HasPrefix(f, OCIPrefix) {
			continue
		}
		if _, err := os.Stat(f); err != nil {
			return fmt.Errorf("compose file %s: %w", f, unwrapPathError(err))
		}
	}
	return nil
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// CheckName validates an explicitly given project name: Compose's rule,
// lowercase letters, digits, '-' and '_', starting with a letter or digit.
func CheckName(name string) error {
	if name == "" || loader.NormalizeProjectName(name) != name {
		return &InvalidNameError{Name: name}
	}
	return nil
}

// InvalidNameError is a project name Compose would refuse.
type InvalidNameError struct{ Name string }

func (e *InvalidNameError) Error() string {
	if e.Name == "" {
		return "invalid project name \"\": the name is empty; set one with -p, COMPOSE_PROJECT_NAME or a top-level name: key"
	}
	return fmt.Sprintf("invalid project name %q: use only lowercase letters, digits, '-' and '_', starting with a letter or digit (for example %q)",
		e.Name, suggestName(e.Name))
}

func suggestName(s string) string {
	if n := loader.NormalizeProjectName(s); n != "" {
		return n
	}
	return "myproject"
}

// ServiceNames returns the project's enabled service names, sorted.
func ServiceNames(p *types.Project) []string {
	names := p.ServiceNames()
	sort.Strings(names)
	return names
}
