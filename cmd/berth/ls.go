package main

import (
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/engine"
	"github.com/berth-dev/berth/internal/layout"
	"github.com/berth-dev/berth/project"
)

// projectSummary is one line of `ls`, with Compose's JSON keys.
type projectSummary struct {
	Name        string
	Status      string
	ConfigFiles string
}

type lsOptions struct {
	all     bool
	quiet   bool
	format  string
	filters []string
}

func newLsCmd(g *globalOptions) *cobra.Command {
	var o lsOptions
	cmd := &cobra.Command{
		Use:   "ls [OPTIONS]",
		Short: "List running compose projects",
		Long: `List the projects that have containers in berth's state root, with the
count of containers in each state and the compose files they came from.
Without -a only projects with running containers are listed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			list, err := listProjects(engine.OpenRecords(layout.FromEnv()), o)
			if err != nil {
				return err
			}
			return printProjects(g.stdout, list, o)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.all, "all", "a", false, "Show all stopped Compose projects")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "Only display project names")
	f.StringVar(&o.format, "format", "table", "Format the output: table or json")
	f.StringArrayVar(&o.filters, "filter", nil, "Filter output based on conditions provided (name=REGEXP)")
	return cmd
}

// listProjects groups container records by project. Without o.all only
// containers that run (running, paused, restarting) count, and projects
// with none are left out, as Compose does.
func listProjects(store *engine.Records, o lsOptions) ([]projectSummary, error) {
	var names []*regexp.Regexp
	for _, f := range o.filters {
		k, v, ok := strings.Cut(f, "=")
		if !ok || k != "name" {
			return nil, fmt.Errorf("--filter %q: only name=VALUE is supported", f)
		}
		re, err := regexp.Compile(v)
		if err != nil {
			return nil, fmt.Errorf("--filter %q: %w", f, err)
		}
		names = append(names, re)
	}
	recs, err := store.Containers("")
	if err != nil {
		return nil, err
	}
	type acc struct {
		states map[string]int
		files  []string
	}
	byProject := map[string]*acc{}
	for _, r := range recs {
		if engine.IsStandalone(r) {
			continue // berth container's, not a compose project
		}
		st, err := store.ContainerState(r.ID)
		if err != nil {
			return nil, err
		}
		running := st.Status == engine.StatusRunning || st.Status == engine.StatusPaused || st.Status == engine.StatusRestarting
		if !o.all && !running {
			continue
		}
		a := byProject[r.Project]
		if a == nil {
			a = &acc{states: map[string]int{}}
			byProject[r.Project] = a
		}
		a.states[string(st.Status)]++
		for _, f := range strings.Split(r.Labels[project.LabelConfigFiles], ",") {
			if f != "" && !contains(a.files, f) {
				a.files = append(a.files, f)
			}
		}
	}
	var out []projectSummary
	for name, a := range byProject {
		if !matchesAny(names, name) {
			continue
		}
		out = append(out, projectSummary{Name: name, Status: combinedStatus(a.states), ConfigFiles: strings.Join(a.files, ",")})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func matchesAny(res []*regexp.Regexp, s string) bool {
	if len(res) == 0 {
		return true
	}
	for _, re := range res {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}

// combinedStatus words state counts as Compose: "exited(1), running(2)".
func combinedStatus(states map[string]int) string {
	keys := make([]string, 0, len(states))
	for k := range states {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s(%d)", k, states[k])
	}
	return strings.Join(parts, ", ")
}

func printProjects(w io.Writer, list []projectSummary, o lsOptions) error {
	switch {
	case o.quiet:
		for _, p := range list {
			fmt.Fprintln(w, p.Name)
		}
	case o.format == "json":
		if list == nil {
			list = []projectSummary{}
		}
		b, err := json.Marshal(list)
		if err != nil {
			return err
		}
		fmt.Fprintln(w, string(b))
	case o.format == "" || o.format == "table":
		tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
		fmt.Fprintln(tw, "NAME\tSTATUS\tCONFIG FILES")
		for _, p := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", p.Name, p.Status, p.ConfigFiles)
		}
		return tw.Flush()
	default:
		return fmt.Errorf("--format %q: want table or json", o.format)
	}
	return nil
}
