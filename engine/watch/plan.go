package watch

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
)

// Mapping is one host entry to make true in a service's containers: the
// host path, the rule's target directory in the container and the path
// beneath it. The target is resolved in the container's root; nothing
// beneath it is ever followed.
type Mapping struct {
	Host   string
	Target string // the rule's target, absolute in the container
	Rel    string // slash-separated, beneath Target; "." for Target itself
}

// Container is where the mapping lands in the container.
func (m Mapping) Container() string {
	if m.Rel == "." {
		return m.Target
	}
	return m.Target + "/" + m.Rel
}

// Actions is what one batch asks of one service. The engine carries them
// out in Compose's order: rebuild (which recreates the service), then
// sync, then restart (not after a rebuild: the container is new), then
// the exec hooks, each once per batch however many files matched.
type Actions struct {
	Service string
	Rebuild bool
	Sync    []Mapping
	Restart bool
	Exec    []Rule // the sync+exec rules that matched, in rule order
}

// Plan maps a batch of changed host paths onto the rules. Every rule a
// path matches applies (Compose's precedence: a path matched by a
// rebuild rule and a sync rule rebuilds, then syncs). A changed directory
// that exists stands for everything beneath it (a directory moved into
// the tree, or made with its contents before it could be watched): it is
// expanded into its entries, each filtered by the rule.
func Plan(batch []string, rules []Rule) []Actions {
	by := map[string]*Actions{}
	get := func(svc string) *Actions {
		a := by[svc]
		if a == nil {
			a = &Actions{Service: svc}
			by[svc] = a
		}
		return a
	}
	type key struct{ svc, container string }
	synced := map[key]bool{}
	execs := map[string]map[int]bool{}
	paths := slices.Clone(batch)
	sort.Strings(paths) // parents first
	for _, p := range paths {
		fi, err := os.Lstat(p)
		isDir := err == nil && fi.IsDir()
		for i := range rules {
			r := &rules[i]
			target, ok := r.Match(p, isDir)
			if !ok {
				continue
			}
			a := get(r.Service)
			switch r.Action {
			case types.WatchActionRebuild:
				a.Rebuild = true
				continue
			case types.WatchActionRestart:
				a.Restart = true
				continue
			case types.WatchActionSyncRestart:
				a.Restart = true
			case types.WatchActionSyncExec:
				if execs[r.Service] == nil {
					execs[r.Service] = map[int]bool{}
				}
				if !execs[r.Service][i] {
					execs[r.Service][i] = true
					a.Exec = append(a.Exec, *r)
				}
			}
			add := func(host, container string) {
				k := key{r.Service, container}
				if synced[k] {
					return
				}
				synced[k] = true
				rel, _ := relBeneath(r.Path, host)
				a.Sync = append(a.Sync, Mapping{Host: host, Target: r.Target, Rel: filepath.ToSlash(rel)})
			}
			add(p, target)
			if isDir {
				r.walk(p, add)
			}
		}
	}
	out := make([]Actions, 0, len(by))
	for _, a := range by {
		out = append(out, *a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Service < out[j].Service })
	return out
}

// walk calls add for every entry beneath the directory dir that the rule
// keeps, parents before children, without following symlinks.
func (r *Rule) walk(dir string, add func(host, container string)) {
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return nil
		}
		if d.IsDir() && r.ignoresWhole(p) {
			return filepath.SkipDir
		}
		if target, ok := r.Match(p, d.IsDir()); ok {
			add(p, target)
		}
		return nil
	})
}

// InitialSync is the plan of an initial_sync: every entry of each sync
// rule's path that the rule keeps, less the Dockerfile and the compose
// files (as Compose), with no restart nor exec.
func InitialSync(rules []Rule, dockerfile string) []Actions {
	skip := map[string]bool{"Dockerfile": true, "compose.yaml": true, "compose.yml": true,
		"docker-compose.yaml": true, "docker-compose.yml": true, "compose.override.yaml": true,
		"compose.override.yml": true, "docker-compose.override.yaml": true, "docker-compose.override.yml": true}
	if dockerfile != "" {
		skip[filepath.Base(dockerfile)] = true
	}
	by := map[string]*Actions{}
	for i := range rules {
		r := &rules[i]
		if !r.InitialSync || r.Target == "" {
			continue
		}
		a := by[r.Service]
		if a == nil {
			a = &Actions{Service: r.Service}
			by[r.Service] = a
		}
		add := func(host, _ string) {
			if skip[filepath.Base(host)] {
				return
			}
			rel, _ := relBeneath(r.Path, host)
			a.Sync = append(a.Sync, Mapping{Host: host, Target: r.Target, Rel: filepath.ToSlash(rel)})
		}
		fi, err := os.Lstat(r.Path)
		switch {
		case err != nil:
		case fi.IsDir():
			add(r.Path, r.Target)
			r.walk(r.Path, add)
		default:
			add(r.Path, r.Target)
		}
	}
	var out []Actions
	for _, a := range by {
		out = append(out, *a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Service < out[j].Service })
	return out
}

// String is the plan as text, one service a line, for tests and logs.
func (a Actions) String() string {
	var parts []string
	if a.Rebuild {
		parts = append(parts, "rebuild")
	}
	if len(a.Sync) > 0 {
		var cs []string
		for _, m := range a.Sync {
			cs = append(cs, m.Container())
		}
		parts = append(parts, "sync "+strings.Join(cs, ","))
	}
	if a.Restart {
		parts = append(parts, "restart")
	}
	for _, r := range a.Exec {
		parts = append(parts, fmt.Sprintf("exec %q", strings.Join(r.Exec.Command, " ")))
	}
	return a.Service + ": " + strings.Join(parts, "; ")
}
