package main

import (
	"bufio"
	"context"
	"fmt"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/engine"
	"github.com/berth-dev/berth/project"
)

type publishCmdOptions struct {
	withEnv       bool
	yes           bool
	dryRun        bool
	ociVersion    string
	resolveDigest bool
	insecure      bool
}

// newPublishCmd is Compose's `publish REPOSITORY[:TAG]`: the project's
// compose files (and extends files, and with --with-env its env files)
// pushed as an OCI artifact that `-f oci://REPOSITORY[:TAG]` loads.
func newPublishCmd(g *globalOptions) *cobra.Command {
	var o publishCmdOptions
	cmd := &cobra.Command{
		Use:   "publish [OPTIONS] REPOSITORY[:TAG]",
		Short: "Publish compose application",
		Long: `Push the project's compose files as an OCI artifact, as docker compose
publish does, for 'berth -f oci://REPOSITORY[:TAG] up' to run elsewhere.
Before publishing, berth asks about what may leak: bind mounts, env_file
declarations and literal values of secret-looking variables (unless
--with-env), and anything that looks like a credential; -y answers yes.
A project with build-only services or local includes is refused.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPublish(cmd.Context(), g, o, args[0])
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.withEnv, "with-env", false, "Include environment variables and env files in the published artifact")
	f.BoolVarP(&o.yes, "yes", "y", false, "Assume yes as answer to all prompts")
	f.BoolVar(&o.dryRun, "dry-run", false, "Check and prepare the artifact, push nothing")
	f.StringVar(&o.ociVersion, "oci-version", "", `OCI image/artifact specification version ("1.0" or "1.1", default 1.1)`)
	f.BoolVar(&o.resolveDigest, "resolve-image-digests", false, "Pin images to digests")
	f.BoolVar(&o.insecure, "insecure-registry", false, "Use plain HTTP to talk to the registry")
	return cmd
}

func runPublish(ctx context.Context, g *globalOptions, o publishCmdOptions, repo string) error {
	switch o.ociVersion {
	case "", "1.0", "1.1":
	default:
		return fmt.Errorf("--oci-version %q: want 1.0 or 1.1", o.ociVersion)
	}
	p, err := g.loadProject(ctx, func(po *project.Options) { po.Profiles = []string{"*"} })
	if err != nil {
		return err
	}
	if err := project.CheckPublishable(p); err != nil {
		return err
	}
	ask := &prompter{g: g, yes: o.yes}
	ok, err := publishPrompts(ctx, p, o, ask)
	if err != nil {
		return err
	}
	if !ok {
		return &exitCodeError{code: 130}
	}
	files, err := project.ArtifactFiles(p, o.withEnv)
	if err != nil {
		return err
	}
	if o.resolveDigest {
		if err := resolveImageDigests(ctx, p); err != nil {
			return err
		}
		pinned := map[string]string{}
		for name, s := range p.Services {
			if s.Image != "" {
				pinned[name] = s.Image
			}
		}
		f, err := project.ImageDigestsFile(pinned)
		if err != nil {
			return err
		}
		files = append(files, f)
	}
	out := g.statusOut()
	fmt.Fprintf(out, " %s publishing\n", repo)
	if !o.dryRun {
		e, err := g.newEngine()
		if err != nil {
			return err
		}
		if _, err := e.PublishProject(ctx, repo, files, engine.PublishOptions{
			OCIVersion: o.ociVersion, Insecure: o.insecure, Version: version,
		}); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, " %s published\n", repo)
	return nil
}

// publishPrompts asks, in turn, about bind mounts, env declarations
// (unless --with-env) and sensitive data; false means one was declined.
func publishPrompts(ctx context.Context, p *types.Project, o publishCmdOptions, ask *prompter) (bool, error) {
	if binds := project.BindMounts(p); len(binds) > 0 {
		var b strings.Builder
		b.WriteString("you are about to publish bind mounts declaration within your OCI artifact.\n" +
			"only the bind mount declarations will be added to the OCI artifact (not content)\n" +
			"please double check that you are not mounting potential user's sensitive directories or data\n")
		for _, name := range sortedNames(binds) {
			b.WriteString(name + "\n")
			for _, v := range binds[name] {
				b.WriteString(v + "\n")
			}
		}
		b.WriteString("Are you ok to publish these bind mount declarations?")
		if !ask.confirm(b.String()) {
			return false, nil
		}
	}
	if !o.withEnv {
		findings, err := project.EnvFindings(ctx, p)
		if err != nil {
			return false, err
		}
		if len(findings) > 0 {
			var b strings.Builder
			b.WriteString("you are about to publish env-related declarations within your OCI artifact.\n" +
				"env_file paths and literal values of sensitive-looking keys are published as they are written;\n" +
				"interpolated values like \"${VAR}\" stay symbolic and are not listed.\n")
			for _, name := range sortedNames(findings) {
				f := findings[name]
				if f.EnvFile {
					fmt.Fprintf(&b, "  service %q: env_file declared\n", name)
				}
				if len(f.SuspiciousKey) > 0 {
					q := make([]string, len(f.SuspiciousKey))
					for i, k := range f.SuspiciousKey {
						q[i] = fmt.Sprintf("%q", k)
					}
					fmt.Fprintf(&b, "  service %q: literal value for %s\n", name, strings.Join(q, ", "))
				}
			}
			b.WriteString("Use --with-env to silence this prompt and always publish env declarations.\n")
			b.WriteString("Are you ok to publish these env declarations?")
			if !ask.confirm(b.String()) {
				return false, nil
			}
		}
	}
	secrets, err := project.SensitiveData(ctx, p)
	if err != nil {
		return false, err
	}
	if len(secrets) > 0 {
		var b strings.Builder
		b.WriteString("you are about to publish sensitive data within your OCI artifact.\n" +
			"please double check that you are not leaking sensitive data\n")
		for _, s := range secrets {
			fmt.Fprintf(&b, "%s\n%q: %s\n", s.Type, s.Key, s.Value)
		}
		b.WriteString("Are you ok to publish these sensitive data?")
		if !ask.confirm(b.String()) {
			return false, nil
		}
	}
	return true, nil
}

// prompter asks yes/no questions on the command's stdin; yes answers all.
type prompter struct {
	g   *globalOptions
	yes bool
	in  *bufio.Reader
}

func (a *prompter) confirm(msg string) bool {
	if a.yes {
		return true
	}
	if a.in == nil {
		a.in = bufio.NewReader(a.g.stdin)
	}
	fmt.Fprintf(a.g.stdout, "%s [y/N]: ", msg)
	answer, _ := a.in.ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(answer)) {
	case "y", "yes":
		return true
	}
	return false
}
