package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/berth-dev/berth/project"
)

// globalOptions are Compose's global flags, shared by every command.
type globalOptions struct {
	files        []string
	projectName  string
	projectDir   string
	envFiles     []string
	profiles     []string
	noColor      bool
	ansi         string // --ansi: never, always, auto ("": COMPOSE_ANSI)
	parallel     int    // --parallel: 0 unset (COMPOSE_PARALLEL_LIMIT), < 0 unlimited
	allResources bool   // --all-resources: make unused networks and volumes too
	progress     string // --progress: auto, tty, plain, quiet ("": COMPOSE_PROGRESS)
	// --compatibility: v1 container names (COMPOSE_COMPATIBILITY, read by
	// the engine from the project's environment, does the same).
	compatibility bool

	insecure []string // --insecure-registry: plain HTTP for -f oci://

	stdin          io.Reader
	stdout, stderr io.Writer
}

// projectOptions turns the global flags into project.Options.
func (g *globalOptions) projectOptions() project.Options {
	envFiles := g.envFiles
	if len(envFiles) == 0 {
		envFiles = envList(envEnvFiles)
	}
	return project.Options{
		Files:       g.files,
		ProjectName: g.projectName,
		ProjectDir:  g.projectDir,
		EnvFiles:    envFiles,
		Profiles:    g.profiles,

		InsecureRegistries: g.insecure,
	}
}

// colorEnabled reports whether output may use colours: not with
// --no-color, NO_COLOR, or when stdout is not a terminal.
func (g *globalOptions) colorEnabled() bool {
	return g.colorEnabledOn(g.stdout)
}

// statusOut is where progress lines go: stderr, or stdout with
// COMPOSE_STATUS_STDOUT set (as docker compose).
func (g *globalOptions) statusOut() io.Writer {
	if envBool(os.Getenv(envStatusStdout)) {
		return g.stdout
	}
	return g.stderr
}

func newRootCmd(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	g := &globalOptions{stdin: stdin, stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "berth",
		Short: "Daemonless, Compose-compatible multi-container orchestrator",
		Long: `berth runs a Compose project (compose.yaml) on one Linux host with no daemon.
Type 'berth up' where you would type 'docker compose up'.`,
		SilenceUsage:      true,
		SilenceErrors:     true,
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
		// Global flags come before the command, as with docker compose
		// (`berth -f a.yaml up`); this frees -f for `logs -f`.
		TraverseChildren: true,
		// State dirs are private before any command can make them.
		PersistentPreRunE: func(c *cobra.Command, _ []string) error {
			if err := g.check(); err != nil {
				return err
			}
			return g.ensureState(c)
		},
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError(c, err)
	})
	g.register(root.Flags())
	root.AddCommand(subcommands(g)...)
	registerCompletions(root, g)
	refuseUnknownSubcommands(root)
	root.SetHelpCommand(newHelpCmd())
	return root
}

// check refuses bad --ansi and --progress values (the latter also from
// COMPOSE_PROGRESS).
func (g *globalOptions) check() error {
	switch g.ansi {
	case "", "never", "always", "auto":
	default:
		return fmt.Errorf("--ansi %q: want never, always or auto", g.ansi)
	}
	switch m := g.progressMode(); m {
	case "auto", "tty", "plain", "quiet":
	default:
		return fmt.Errorf("progress %q (--progress or %s): want auto, tty, plain or quiet", m, envProgress)
	}
	return nil
}

// register declares the global flags, those docker compose takes before
// the command.
func (g *globalOptions) register(f *pflag.FlagSet) {
	f.StringArrayVarP(&g.files, "file", "f", nil, "Compose configuration files (repeatable; default: compose.yaml found upward, or COMPOSE_FILE)")
	f.StringVarP(&g.projectName, "project-name", "p", "", "Project name (default: COMPOSE_PROJECT_NAME, top-level name:, or the project directory's name)")
	f.StringVar(&g.projectDir, "project-directory", "", "Alternate working directory (default: the directory of the first compose file)")
	f.StringArrayVar(&g.envFiles, "env-file", nil, "Alternate environment files (repeatable; default: .env in the project directory)")
	f.StringArrayVar(&g.profiles, "profile", nil, "Profiles to enable (repeatable; '*' enables all; default: COMPOSE_PROFILES)")
	f.BoolVar(&g.noColor, "no-color", false, "Produce monochrome output (also NO_COLOR)")
	f.StringVar(&g.ansi, "ansi", "", `When to print colours: "never", "always" or "auto" (default: COMPOSE_ANSI, else auto)`)
	f.StringVar(&g.progress, "progress", "", "Progress output: auto, tty, plain or quiet (default: COMPOSE_PROGRESS, else auto)")
	f.BoolVar(&g.allResources, "all-resources", false, "Include all resources, even those not used by services")
	f.StringArrayVar(&g.insecure, "insecure-registry", nil, "Registries to reach over plain HTTP when a -f file is oci:// (repeatable)")
	f.BoolVar(&g.compatibility, "compatibility", false, "Run in backward compatibility mode: name containers as Compose v1 did (project_service_1; also COMPOSE_COMPATIBILITY)")
	f.IntVar(&g.parallel, "parallel", 0, "How many services up works on at once, -1 for no limit (default: COMPOSE_PARALLEL_LIMIT, else 8)")
}

// subcommands are berth's commands (help lists them sorted by name).
func subcommands(g *globalOptions) []*cobra.Command {
	return []*cobra.Command{
		newConfigCmd(g),
		newVersionCmd(g),
		newUpCmd(g),
		newDownCmd(g),
		newPsCmd(g),
		newLogsCmd(g),
		newStartCmd(g),
		newStopCmd(g),
		newRestartCmd(g),
		newKillCmd(g),
		newRmCmd(g),
		newPauseCmd(g),
		newUnpauseCmd(g),
		newTopCmd(g),
		newCreateCmd(g),
		newRunCmd(g),
		newExecCmd(g),
		newCpCmd(g),
		newExportCmd(g),
		newCommitCmd(g),
		newWaitCmd(g),
		newPullCmd(g),
		newPushCmd(g),
		newPublishCmd(g),
		newLoginCmd(g),
		newLogoutCmd(g),
		newInfoCmd(g),
		newSystemCmd(g),
		newCompletionCmd(g),
		newImagesCmd(g),
		newImageCmd(g),
		newBuildCmd(g),
		newBuilderCmd(g),
		newVolumeCmd(g),
		newNetworkCmd(g),
		newPortCmd(g),
		newScaleCmd(g),
		newEventsCmd(g),
		newStatsCmd(g),
		newLsCmd(g),
		newInspectCmd(g),
		newContainerCmd(g),
		newWatchCmd(g),
		newAttachCmd(g),
		newSuperviseCmd(g),
		newAutoRemoveCmd(g),
		newK8sRoot(g),
		newInitCmd(),
	}
}

// newHelpCmd is cobra's help command, except that a topic that is no
// command is an error instead of the root's help and exit 0.
func newHelpCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "help [command]",
		Short: "Help about any command",
		RunE: func(c *cobra.Command, args []string) error {
			cmd, rest, err := c.Root().Find(args)
			if err == nil && len(rest) > 0 && cmd.HasSubCommands() {
				err = cmd.Args(cmd, rest)
			}
			if err != nil {
				return err
			}
			return cmd.Help()
		},
	}
}

// refuseUnknownSubcommands makes berth and each command group (volume,
// network, image, …) print its help when called alone and fail on a word
// that is none of its subcommands, with cobra's suggestions (left alone,
// cobra prints the help and exits 0 when commands are traversed).
func refuseUnknownSubcommands(c *cobra.Command) {
	if !c.HasSubCommands() {
		return
	}
	for _, sub := range c.Commands() {
		refuseUnknownSubcommands(sub)
	}
	// A group takes no arguments of its own: any word is a mistyped
	// subcommand.
	c.Args = func(c *cobra.Command, args []string) error {
		if len(args) == 0 {
			return nil
		}
		msg := fmt.Sprintf("unknown command %q for %q", args[0], c.CommandPath())
		if c.SuggestionsMinimumDistance <= 0 {
			c.SuggestionsMinimumDistance = 2
		}
		if s := c.SuggestionsFor(args[0]); len(s) > 0 {
			msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t")
		}
		return errors.New(msg)
	}
	if !c.Runnable() {
		c.RunE = func(c *cobra.Command, _ []string) error { return c.Help() }
	}
}

// usageError makes a flag or argument error say which command to ask for help.
func usageError(c *cobra.Command, err error) error {
	return &usageErr{msg: err.Error() + "\nSee '" + strings.TrimSpace(c.CommandPath()) + " --help'."}
}

type usageErr struct{ msg string }

func (e *usageErr) Error() string { return e.msg }
