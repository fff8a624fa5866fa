package main

import (
	"context"
	"errors"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/engine"
	"github.com/berth-dev/berth/internal/layout"
	"github.com/berth-dev/berth/project"
	"github.com/berth-dev/berth/volumes"
)

// newCompletionCmd is `berth completion bash|zsh|fish`: cobra's scripts,
// which call back `berth __complete …` for service, container, image,
// network and volume names.
func newCompletionCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "completion bash|zsh|fish",
		Short: "Generate the shell completion script for bash, zsh or fish",
		Long: `Print a completion script for your shell. It completes commands and flags,
and the names of the current project's services and of the containers,
images, networks and volumes in berth's store.

  bash:  source <(berth completion bash)     (needs the bash-completion package)
  zsh:   berth completion zsh > "${fpath[1]}/_berth"
  fish:  berth completion fish > ~/.config/fish/completions/berth.fish`,
		ValidArgs: []string{"bash", "zsh", "fish"},
		Args: func(c *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError(c, errors.New("want one shell: bash, zsh or fish"))
			}
			return cobra.OnlyValidArgs(c, args)
		},
		RunE: func(c *cobra.Command, args []string) error {
			root := c.Root()
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(g.stdout, true)
			case "zsh":
				return root.GenZshCompletion(g.stdout)
			case "fish":
				return root.GenFishCompletion(g.stdout, true)
			}
			return nil
		},
	}
	return cmd
}

// What the positional arguments of each command name.
const (
	argServices = iota + 1
	argFirstService
	argServicesOrContainers
	argImages
	argFirstImage
	argNetworks
	argVolumes
)

var completionKinds = map[string]int{
	"berth up": argServices, "berth down": argServices, "berth ps": argServices, "berth logs": argServices,
	"berth start": argServices, "berth stop": argServices, "berth restart": argServices, "berth kill": argServices,
	"berth rm": argServices, "berth pause": argServices, "berth unpause": argServices, "berth top": argServices,
	"berth create": argServices, "berth pull": argServices, "berth push": argServices, "berth build": argServices,
	"berth wait": argServices, "berth events": argServices, "berth images": argServices, "berth stats": argServices,
	"berth watch": argServices,
	"berth run":   argFirstService, "berth exec": argFirstService, "berth port": argFirstService,
	"berth inspect":       argServicesOrContainers,
	"berth image inspect": argImages, "berth image rm": argImages, "berth image save": argImages,
	"berth image push": argFirstImage, "berth image tag": argFirstImage, "berth image ls": argFirstImage,
	"berth network inspect": argNetworks, "berth network rm": argNetworks,
	"berth volume inspect": argVolumes, "berth volume rm": argVolumes,
}

// registerCompletions gives the commands above their argument completion
// (where a command has none of its own).
func registerCompletions(root *cobra.Command, g *globalOptions) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			walk(sub)
		}
		kind, ok := completionKinds[c.CommandPath()]
		if !ok || c.ValidArgsFunction != nil {
			return
		}
		c.ValidArgsFunction = func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			var names []string
			switch kind {
			case argServices:
				names = g.completeServices(cmd.Context())
			case argFirstService:
				if len(args) == 0 {
					names = g.completeServices(cmd.Context())
				}
			case argServicesOrContainers:
				names = append(g.completeServices(cmd.Context()), completeContainers()...)
			case argImages:
				names = completeImages()
			case argFirstImage:
				if len(args) == 0 {
					names = completeImages()
				}
			case argNetworks:
				names = completeNetworks()
			case argVolumes:
				names = completeVolumes()
			}
			return filterCompletions(names, args, toComplete), cobra.ShellCompDirectiveNoFileComp
		}
	}
	walk(root)
}

// filterCompletions keeps the names that start with toComplete and are
// not given yet, sorted and unique.
func filterCompletions(names, given []string, toComplete string) []cobra.Completion {
	seen := map[string]bool{}
	for _, a := range given {
		seen[a] = true
	}
	var out []cobra.Completion
	for _, n := range names {
		if !seen[n] && strings.HasPrefix(n, toComplete) {
			seen[n] = true
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// completeServices are the current project's services (the global flags
// given before the command apply); none when no project loads.
func (g *globalOptions) completeServices(ctx context.Context) []string {
	if ctx == nil {
		ctx = context.Background()
	}
	p, err := g.loadProject(ctx, func(o *project.Options) { o.NoConsistency = true }, unresolvedEnv)
	if err != nil {
		return nil
	}
	return project.ServiceNames(p)
}

// stateExists: completion only reads berth's state, never makes it.
func stateExists(dir func(layout.Layout) string) bool {
	_, err := os.Stat(dir(layout.FromEnv()))
	return err == nil
}

func completeContainers() []string {
	if !stateExists(layout.Layout.Containers) {
		return nil
	}
	cs, err := engine.OpenRecords(layout.FromEnv()).Containers("")
	if err != nil {
		return nil
	}
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}

func completeImages() []string {
	if !stateExists(layout.Layout.Images) {
		return nil
	}
	store, err := openImageStore()
	if err != nil {
		return nil
	}
	list, err := store.List()
	if err != nil {
		return nil
	}
	var out []string
	for _, s := range list {
		out = append(out, s.RepoTags...)
	}
	return out
}

func completeNetworks() []string {
	if !stateExists(layout.Layout.Networks) {
		return nil
	}
	nets, err := engine.OpenRecords(layout.FromEnv()).NetworkRecords()
	if err != nil {
		return nil
	}
	var out []string
	for _, n := range nets {
		out = append(out, n.Name)
	}
	return out
}

func completeVolumes() []string {
	if !stateExists(layout.Layout.Volumes) {
		return nil
	}
	vs, err := volumeManager().List(context.Background(), volumes.Filter{})
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil
	}
	var out []string
	for _, v := range vs {
		out = append(out, v.Name)
	}
	return out
}
