package watch

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// Rule is one develop.watch entry of a service, compiled: its path made
// absolute, its include and ignore patterns (relative to the path) and
// the service's .dockerignore (relative to the build context) turned into
// matchers of absolute host paths.
type Rule struct {
	Service string
	Index   int // the rule's position in the service's develop.watch
	types.Trigger

	include *patternmatcher.PatternMatcher // nil: everything
	ignores []*patternmatcher.PatternMatcher
}

// ephemeral are editors' temp and backup files, which Compose ignores
// whatever the rules say (GoLand, Emacs, Vim), and .git.
var ephemeral = []string{
	"**/*___jb_old___", "**/*___jb_tmp___", "**/.idea/**",
	"**/.#*",
	"**/4913", "**/*~", "**/.*.swp", "**/.*.swx", "**/.*.swo", "**/.*.swn",
	"**/.git",
}

// Compile turns the develop.watch section of svc into rules. Paths
// already bind-mounted into the service are left out (a sync there would
// write the file onto itself), as Compose does; each such rule is named
// in the returned warnings.
func Compile(p *types.Project, svc types.ServiceConfig) ([]Rule, []string, error) {
	if svc.Develop == nil {
		return nil, nil, nil
	}
	dockerignore, err := loadDockerignore(svc.Build)
	if err != nil {
		return nil, nil, fmt.Errorf("service %q: %w", svc.Name, err)
	}
	eph, err := patternmatcher.New(ephemeral)
	if err != nil {
		return nil, nil, err
	}
	var rules []Rule
	var warnings []string
	for i, t := range svc.Develop.Watch {
		where := fmt.Sprintf("service %q: develop.watch[%d]", svc.Name, i)
		if t.Path == "" {
			return nil, nil, fmt.Errorf("%s: path is required", where)
		}
		t.Path = watchPath(p.WorkingDir, t.Path)
		skip, err := checkAction(where, &t, svc)
		if err != nil {
			return nil, nil, err
		}
		if skip != "" {
			warnings = append(warnings, skip)
			continue
		}
		r := Rule{Service: svc.Name, Index: i, Trigger: t}
		if err := r.compileMatchers(where, eph, dockerignore); err != nil {
			return nil, nil, err
		}
		rules = append(rules, r)
	}
	return rules, warnings, nil
}

// watchPath is a rule's path made absolute against the project's
// working dir, its symlinks resolved where it exists, and cleaned.
func watchPath(workingDir, p string) string {
	if !filepath.IsAbs(p) {
		p = filepath.Join(workingDir, p)
	}
	if real, err := filepath.EvalSymlinks(p); err == nil {
		p = real
	}
	return filepath.Clean(p)
}

// checkAction checks that rule t (named where) has what its action needs,
// making a sync target absolute and clean. A sync rule whose path is
// bind-mounted into svc is skipped: skip is the warning that says so.
func checkAction(where string, t *types.Trigger, svc types.ServiceConfig) (skip string, err error) {
	switch t.Action {
	case types.WatchActionSync, types.WatchActionSyncRestart, types.WatchActionSyncExec:
		if t.Target == "" {
			return "", fmt.Errorf("%s: action %s needs a target (the path in the container)", where, t.Action)
		}
		if !path.IsAbs(t.Target) {
			t.Target = "/" + t.Target
		}
		t.Target = path.Clean(t.Target)
		if t.Action == types.WatchActionSyncExec && len(t.Exec.Command) == 0 {
			return "", fmt.Errorf("%s: action sync+exec needs exec.command", where)
		}
		if bindMounted(t.Path, svc.Volumes) {
			return fmt.Sprintf("%s: path %s is also bind-mounted into the service; it is not watched", where, t.Path), nil
		}
	case types.WatchActionRebuild:
		if svc.Build == nil {
			return "", fmt.Errorf("%s: action rebuild needs a build section", where)
		}
	case types.WatchActionRestart:
	default:
		return "", fmt.Errorf("%s: unknown action %q (want sync, rebuild, restart, sync+restart or sync+exec)", where, t.Action)
	}
	return "", nil
}

// compileMatchers makes the rule's matchers: the editors' list eph, its
// ignore patterns and the service's .dockerignore (when it has one) as
// ignores, and its include patterns.
func (r *Rule) compileMatchers(where string, eph, dockerignore *patternmatcher.PatternMatcher) error {
	ign, err := matcher(r.Path, r.Ignore)
	if err != nil {
		return fmt.Errorf("%s: ignore: %w", where, err)
	}
	r.ignores = []*patternmatcher.PatternMatcher{eph, ign}
	if dockerignore != nil {
		r.ignores = append(r.ignores, dockerignore)
	}
	if len(r.Include) > 0 {
		if r.include, err = matcher(r.Path, r.Include); err != nil {
			return fmt.Errorf("%s: include: %w", where, err)
		}
	}
	return nil
}

// Match reports whether the host path p concerns the rule and, for the
// sync actions, where it lands in the container. include applies to
// files only: a directory is kept so that what it holds can match.
func (r *Rule) Match(p string, isDir bool) (target string, ok bool) {
	rel, ok := relBeneath(r.Path, p)
	if !ok || r.Ignored(p) {
		return "", false
	}
	if r.include != nil && !isDir {
		if m, err := r.include.MatchesOrParentMatches(p); err != nil || !m {
			return "", false
		}
	}
	if r.Target == "" {
		return "", true
	}
	return path.Join(r.Target, filepath.ToSlash(rel)), true
}

// Ignored reports whether an ignore pattern, .dockerignore or the
// editors' list excludes p.
func (r *Rule) Ignored(p string) bool {
	for _, m := range r.ignores {
		if ok, err := m.MatchesOrParentMatches(p); err == nil && ok {
			return true
		}
	}
	return false
}

// ignoresWhole reports whether the directory p and all it holds are
// ignored by the rule: no exclusion pattern (!x) could bring something
// back, so the watcher need not look inside.
func (r *Rule) ignoresWhole(p string) bool {
	for _, m := range r.ignores {
		if ok, err := m.MatchesOrParentMatches(p); err == nil && ok && !m.Exclusions() {
			return true
		}
	}
	return false
}

// relBeneath is p relative to dir when p is dir or beneath it.
func relBeneath(dir, p string) (string, bool) {
	if p == dir {
		return ".", true
	}
	if !strings.HasPrefix(p, dir+string(filepath.Separator)) && dir != "/" {
		return "", false
	}
	rel, err := filepath.Rel(dir, p)
	return rel, err == nil
}

// matcher compiles patterns relative to root into a matcher of absolute
// paths. A lone "*" ignores everything except the exclusions, as Compose.
func matcher(root string, patterns []string) (*patternmatcher.PatternMatcher, error) {
	if slices.Contains(patterns, "*") {
		patterns = slices.DeleteFunc(slices.Clone(patterns), func(p string) bool { return p != "*" && !strings.HasPrefix(p, "!") })
	}
	abs := make([]string, 0, len(patterns))
	for _, p := range patterns {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		neg := strings.HasPrefix(p, "!")
		p = strings.TrimPrefix(p, "!")
		p = filepath.Clean(p)
		if !filepath.IsAbs(p) {
			p = filepath.Join(root, p)
		}
		if neg {
			p = "!" + p
		}
		abs = append(abs, p)
	}
	return patternmatcher.New(abs)
}

// loadDockerignore reads the build context's <Dockerfile>.dockerignore,
// else its .dockerignore, as the build does; nil when there is none.
func loadDockerignore(b *types.BuildConfig) (*patternmatcher.PatternMatcher, error) {
	if b == nil || b.Context == "" || strings.Contains(b.Context, "://") {
		return nil, nil
	}
	ctxDir := b.Context
	var candidates []string
	if b.Dockerfile != "" {
		df := b.Dockerfile
		if !filepath.IsAbs(df) {
			df = filepath.Join(ctxDir, df)
		}
		candidates = append(candidates, df+".dockerignore")
	}
	candidates = append(candidates, filepath.Join(ctxDir, ".dockerignore"))
	for _, c := range candidates {
		f, err := os.Open(c)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		patterns, err := ignorefile.ReadAll(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c, err)
		}
		if real, err := filepath.EvalSymlinks(ctxDir); err == nil {
			ctxDir = real
		}
		return matcher(ctxDir, patterns)
	}
	return nil, nil
}

// bindMounted reports whether p is at or beneath the source of one of
// the service's bind mounts.
func bindMounted(p string, vols []types.ServiceVolumeConfig) bool {
	for _, v := range vols {
		if v.Type != types.VolumeTypeBind || v.Source == "" {
			continue
		}
		src := v.Source
		if real, err := filepath.EvalSymlinks(src); err == nil {
			src = real
		}
		if _, ok := relBeneath(filepath.Clean(src), p); ok {
			return true
		}
	}
	return false
}

// Skipper tells the watcher which directories need no watch: those every
// rule covering them ignores whole.
func Skipper(rules []Rule) func(dir string) bool {
	return func(dir string) bool {
		covered := false
		for i := range rules {
			if _, ok := relBeneath(rules[i].Path, dir); !ok {
				continue
			}
			covered = true
			if !rules[i].ignoresWhole(dir) {
				return false
			}
		}
		return covered
	}
}

// Roots are the distinct paths the rules watch.
func Roots(rules []Rule) []string {
	var out []string
	for _, r := range rules {
		if !slices.Contains(out, r.Path) {
			out = append(out, r.Path)
		}
	}
	return out
}
