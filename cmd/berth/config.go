package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/template"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v4"

	"github.com/berth-dev/berth/engine"
	"github.com/berth-dev/berth/project"
)

type configOptions struct {
	format         string
	output         string
	quiet          bool
	services       bool
	volumes        bool
	networks       bool
	profiles       bool
	images         bool
	environment    bool
	noInterpolate  bool
	noNormalize    bool
	noResolvePath  bool
	noConsistency  bool
	noResolveEnv   bool
	resolveDigests bool
	hash           string
	models         bool
	variables      bool
}

func newConfigCmd(g *globalOptions) *cobra.Command {
	var o configOptions
	cmd := &cobra.Command{
		Use:     "config [OPTIONS] [SERVICE...]",
		Aliases: []string{"convert"},
		Short:   "Parse, resolve and render the compose file in canonical format",
		Long: `Parse, resolve and render the compose file in canonical format: the -f files
merged, variables interpolated, short syntax expanded, paths resolved.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runConfig(cmd, g, o, args)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.format, "format", "yaml", "Format the output: yaml or json")
	f.StringVarP(&o.output, "output", "o", "", "Save to file (default: stdout)")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "Only validate the configuration, don't print anything")
	f.BoolVar(&o.services, "services", false, "Print the service names, one per line")
	f.BoolVar(&o.volumes, "volumes", false, "Print the volume names, one per line")
	f.BoolVar(&o.networks, "networks", false, "Print the network names, one per line")
	f.BoolVar(&o.profiles, "profiles", false, "Print the profile names, one per line")
	f.BoolVar(&o.images, "images", false, "Print the image names, one per line")
	f.BoolVar(&o.environment, "environment", false, "Print the environment used for interpolation")
	f.BoolVar(&o.noInterpolate, "no-interpolate", false, "Don't interpolate environment variables")
	f.BoolVar(&o.noNormalize, "no-normalize", false, "Don't normalize the compose model")
	f.BoolVar(&o.noResolvePath, "no-path-resolution", false, "Don't resolve file paths")
	f.BoolVar(&o.noConsistency, "no-consistency", false, "Don't check model consistency (may print an invalid model)")
	f.BoolVar(&o.noResolveEnv, "no-env-resolution", false, "Don't resolve service env files")
	f.BoolVar(&o.resolveDigests, "resolve-image-digests", false, "Pin image tags to digests")
	f.StringVar(&o.hash, "hash", "", `Print the config hash of the services ("*" for all, or a comma-separated list)`)
	f.BoolVar(&o.models, "models", false, "Print the model names, one per line")
	f.BoolVar(&o.variables, "variables", false, "Print the model's variables and their defaults")
	return cmd
}

func runConfig(cmd *cobra.Command, g *globalOptions, o configOptions, services []string) error {
	if err := o.check(); err != nil {
		return err
	}
	ctx := cmd.Context()
	out := g.stdout
	if o.quiet {
		out = io.Discard
	}
	switch {
	case o.variables:
		return runConfigVariables(ctx, g, o, out, services)
	case o.noInterpolate && !o.services:
		return runConfigModel(ctx, g, o, out, services)
	}

	p, err := g.loadProject(ctx, o.projectEdit)
	if err != nil {
		return err
	}
	if len(services) > 0 {
		if p, err = p.WithSelectedServices(services); err != nil {
			return err
		}
	}
	if o.resolveDigests {
		if err := resolveImageDigests(ctx, p); err != nil {
			return err
		}
	}
	if o.hash != "" {
		return printHashes(out, p, o.hash)
	}
	if lines, ok := o.listing(p); ok {
		return printLines(out, lines)
	}
	content, err := renderProject(p, o.format)
	if err != nil {
		return err
	}
	return writeConfig(out, o.output, content)
}

// check refuses the flag values and combinations Compose refuses.
func (o configOptions) check() error {
	if o.format != "yaml" && o.format != "json" {
		return fmt.Errorf("--format %q: want yaml or json", o.format)
	}
	if o.resolveDigests && o.noInterpolate {
		return errors.New("--resolve-image-digests cannot be used with --no-interpolate")
	}
	return nil
}

// projectEdit applies the --no-* flags to the loader's options.
func (o configOptions) projectEdit(po *project.Options) {
	po.NoInterpolate = o.noInterpolate
	po.NoNormalize = o.noNormalize
	po.NoResolvePaths = o.noResolvePath
	po.NoConsistency = o.noConsistency
	po.NoEnvResolution = o.noResolveEnv
	if o.hash != "" {
		// as Compose: only the hashed services' env_file must be there
		po.EnvServices = strings.Split(o.hash, ",")
	}
}

// runConfigVariables is config --variables: the raw model's variables
// and their defaults, for the whole model.
func runConfigVariables(ctx context.Context, g *globalOptions, o configOptions, out io.Writer, services []string) error {
	if len(services) > 0 {
		fmt.Fprintln(g.stderr, "service filtering is not applied when --variables is set")
	}
	m, err := project.Model(ctx, withEdit(g.projectOptions(), func(po *project.Options) {
		o.projectEdit(po)
		po.NoInterpolate = true
	}))
	if err != nil {
		return err
	}
	return printVariables(out, template.ExtractVariables(m, template.DefaultPattern), o.format)
}

// runConfigModel is config --no-interpolate: the merged model as
// written, ${VAR} left in place, for the whole model.
func runConfigModel(ctx context.Context, g *globalOptions, o configOptions, out io.Writer, services []string) error {
	if len(services) > 0 {
		fmt.Fprintln(g.stderr, "service filtering is not applied when --no-interpolate is set")
	}
	m, err := project.Model(ctx, withEdit(g.projectOptions(), o.projectEdit))
	if err != nil {
		return err
	}
	content, err := formatModel(m, o.format)
	if err != nil {
		return err
	}
	return writeConfig(out, o.output, content)
}

// listing is the one-per-line output that --models, --services,
// --volumes, --networks, --profiles, --images or --environment asks for
// (the first given, in that order); ok is false when none is.
func (o configOptions) listing(p *types.Project) (lines []string, ok bool) {
	switch {
	case o.models:
		for _, name := range sortedNames(p.Models) {
			m := p.Models[name].Model
			if m == "" {
				m = name
			}
			lines = append(lines, m)
		}
		return lines, true
	case o.services:
		return project.ServiceNames(p), true
	case o.volumes:
		return sortedNames(p.Volumes), true
	case o.networks:
		return sortedNames(p.Networks), true
	case o.profiles:
		set := map[string]bool{}
		for _, s := range p.AllServices() {
			for _, pr := range s.Profiles {
				set[pr] = true
			}
		}
		return sortedNames(set), true
	case o.images:
		for _, name := range project.ServiceNames(p) {
			lines = append(lines, imageName(p, p.Services[name]))
		}
		return lines, true
	case o.environment:
		lines = p.Environment.Values()
		sort.Strings(lines)
		return lines, true
	}
	return nil, false
}

// renderProject is the project as YAML or JSON. Interpolated values are
// literal: $ is escaped so the output stays a valid compose file that
// means the same thing.
func renderProject(p *types.Project, format string) ([]byte, error) {
	var content []byte
	var err error
	if format == "json" {
		content, err = p.MarshalJSON()
	} else {
		content, err = p.MarshalYAML()
	}
	if err != nil {
		return nil, err
	}
	return bytes.ReplaceAll(content, []byte("$"), []byte("$$")), nil
}

func withEdit(o project.Options, edit func(*project.Options)) project.Options {
	edit(&o)
	return o
}

// imageName is the image a service runs: its image:, else the name
// Compose gives a built image, <project>-<service>.
func imageName(p *types.Project, s types.ServiceConfig) string {
	if s.Image != "" {
		return s.Image
	}
	return p.Name + "-" + s.Name
}

func formatModel(m map[string]any, format string) ([]byte, error) {
	if format == "json" {
		return json.MarshalIndent(m, "", "  ")
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func writeConfig(out io.Writer, path string, content []byte) error {
	if path != "" {
		return os.WriteFile(path, content, 0o644)
	}
	_, err := out.Write(content)
	return err
}

func printLines(w io.Writer, lines []string) error {
	for _, l := range lines {
		if _, err := fmt.Fprintln(w, l); err != nil {
			return err
		}
	}
	return nil
}

func sortedNames[M ~map[string]V, V any](m M) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// resolveImageDigests pins every service image to its digest, as
// `docker compose config --resolve-image-digests` (name:tag@sha256:…):
// asked of the registry (or its mirrors); when none answers, the digest
// the image store recorded when it pulled that image. Images already
// pinned stay as they are; services without image: are left alone.
func resolveImageDigests(ctx context.Context, p *types.Project) error {
	cfg, err := engine.LoadRegistryConfig()
	if err != nil {
		return err
	}
	store, err := openImageStore()
	if err != nil {
		return err
	}
	puller := engine.NewPuller(store, cfg)
	for name, svc := range p.Services {
		if svc.Image == "" {
			continue
		}
		ref, err := engine.ParseImageReference(svc.Image)
		if err != nil {
			return fmt.Errorf("service %q: %w", name, err)
		}
		if ref.Digest != "" {
			continue
		}
		digest := ""
		res, rerr := puller.Resolve(ctx, ref, "")
		if rerr == nil {
			digest = res.Digest
		} else if local, err := store.Get(svc.Image); err == nil && !local.LastPull.IsZero() {
			digest = local.Digest()
		}
		if digest == "" {
			return fmt.Errorf("service %q: resolve digest of %s: %w", name, svc.Image, rerr)
		}
		ref.Digest = digest
		svc.Image = ref.Familiar()
		p.Services[name] = svc
	}
	return nil
}

// printHashes prints "service hash" lines, as `docker compose config
// --hash`: spec is "*" or a comma-separated list of services.
func printHashes(w io.Writer, p *types.Project, spec string) error {
	names := project.ServiceNames(p)
	if spec != "*" {
		names = nil
		for _, n := range strings.Split(spec, ",") {
			if _, ok := p.Services[n]; !ok {
				return fmt.Errorf("no such service: %s", n)
			}
			names = append(names, n)
		}
	}
	var lines []string
	for _, n := range names {
		h, err := engine.ServiceHash(p, p.Services[n])
		if err != nil {
			return fmt.Errorf("service %q: %w", n, err)
		}
		lines = append(lines, n+" "+h)
	}
	return printLines(w, lines)
}

// printVariables prints the model's variables as `docker compose config
// --variables` does: JSON indented by four spaces, or YAML.
func printVariables(w io.Writer, vars map[string]template.Variable, format string) error {
	var b []byte
	var err error
	if format == "json" {
		b, err = json.MarshalIndent(vars, "", "    ")
		b = append(b, '\n')
	} else {
		b, err = yaml.Marshal(vars)
	}
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}
