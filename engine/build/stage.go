package build

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"

	"github.com/berth-dev/berth/engine/image"
	"github.com/berth-dev/berth/engine/ociruntime"
)

// historyComment marks the history entries berth writes.
const historyComment = "berth.dockerfile.v0"

// stageState is a stage being built: its base, the layers added so far
// (unpacked dirs and image addenda) and its config.
type stageState struct {
	index   int    // in the Dockerfile
	name    string // display name ("" in a one-stage build)
	base    v1.Image
	lowers  []string // layer dirs, lowest first
	adds    []mutate.Addendum
	cfg     *v1.ConfigFile
	key     string            // cache key of the stage so far
	created time.Time         // time of the newest step
	args    map[string]string // stage ARGs with values
	cmdSet  bool              // CMD was set in this stage
	// healthStart is HEALTHCHECK --start-interval, which
	// go-containerregistry's config type cannot hold (see withHealthStart).
	healthStart time.Duration
	step        int
	total       int
}

// clone copies st for a stage built FROM it.
func (st *stageState) clone() *stageState {
	c := *st
	c.lowers = slices.Clone(st.lowers)
	c.adds = slices.Clone(st.adds)
	c.cfg = st.cfg.DeepCopy()
	c.args = map[string]string{}
	c.cmdSet = false
	c.step = 0
	return &c
}

// isFSStep reports whether cmd changes the filesystem (and is shown as a step).
func isFSStep(cmd instructions.Command) bool {
	switch cmd.(type) {
	case *instructions.RunCommand, *instructions.CopyCommand, *instructions.AddCommand, *instructions.WorkdirCommand:
		return true
	}
	return false
}

// plan returns the stages target needs, in build order.
func (r *run) plan(target int) ([]int, error) {
	need := map[int]bool{}
	var visit func(i int) error
	visit = func(i int) error {
		if need[i] {
			return nil
		}
		need[i] = true
		s := r.df.stages[i]
		base, err := r.args.expandGlobal(s.BaseName)
		if err != nil {
			return fmt.Errorf("%s:%d: FROM %s: %w", r.df.name, lineOf(s.Location), s.BaseName, err)
		}
		if j, ok := r.df.stageIndex(base, i); ok {
			if err := visit(j); err != nil {
				return err
			}
		}
		for _, cmd := range s.Commands {
			var froms []string
			switch c := cmd.(type) {
			case *instructions.CopyCommand:
				froms = append(froms, c.From)
			case *instructions.RunCommand:
				for _, m := range instructions.GetMounts(c) {
					froms = append(froms, m.From)
				}
			}
			for _, f := range froms {
				if f == "" {
					continue
				}
				from, err := r.args.expandGlobal(f)
				if err != nil {
					return fmt.Errorf("%s:%d: --from=%s: %w", r.df.name, lineOf(cmd.Location()), f, err)
				}
				if j, ok := r.df.stageIndex(from, i); ok {
					if err := visit(j); err != nil {
						return err
					}
				}
			}
		}
		return nil
	}
	if err := visit(target); err != nil {
		return nil, err
	}
	out := slices.Sorted(maps.Keys(need))
	r.total = 0
	for _, i := range out {
		r.total++
		for _, c := range r.df.stages[i].Commands {
			if isFSStep(c) {
				r.total++
			}
		}
	}
	return out, nil
}

// stageName is how progress names stage i.
func (r *run) stageName(i int) string {
	if s := r.df.stages[i]; s.Name != "" {
		return s.Name
	}
	if len(r.df.stages) == 1 {
		return ""
	}
	return "stage-" + strconv.Itoa(i)
}

// buildStage builds stage i (its dependencies are built already).
func (r *run) buildStage(ctx context.Context, i int) error {
	s := r.df.stages[i]
	line := lineOf(s.Location)
	total := 1 + fsSteps(s.Commands)
	baseName, err := r.args.expandGlobal(s.BaseName)
	if err != nil {
		return fmt.Errorf("%s:%d: FROM %s: %w", r.df.name, line, s.BaseName, err)
	}
	ev := r.begin(r.stageName(i), 1, total, "FROM "+baseName)
	if s.Platform != "" {
		p, err := r.args.expandGlobal(s.Platform)
		if err != nil || (p != "linux/amd64" && p != "linux/x86_64") {
			return r.fail(ev, fmt.Errorf("%s:%d: FROM --platform=%s: %w: berth builds linux/amd64 only", r.df.name, line, s.Platform, ErrPlatform))
		}
	}
	st, err := r.stageBase(ctx, i, baseName)
	if err != nil {
		return r.fail(ev, fmt.Errorf("%s:%d: FROM %s: %w", r.df.name, line, baseName, err))
	}
	st.index, st.name, st.total, st.step, st.args = i, r.stageName(i), total, 1, map[string]string{}
	if _, ok := envMap(st.cfg.Config.Env)["PATH"]; !ok {
		st.cfg.Config.Env = append(st.cfg.Config.Env, "PATH="+ociruntime.DefaultPath)
	}
	r.done(ev)
	triggers, err := onbuildTriggers(st.cfg.Config.OnBuild)
	if err != nil {
		return fmt.Errorf("%s:%d: FROM %s: %w", r.df.name, line, baseName, err)
	}
	st.cfg.Config.OnBuild = nil // consumed, as Docker does
	st.total += fsSteps(triggers)
	for _, cmd := range append(triggers, s.Commands...) {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := r.dispatch(ctx, st, cmd); err != nil {
			return err
		}
	}
	r.stages[i] = st
	return nil
}

// fsSteps counts the commands that are shown as steps of their own.
func fsSteps(cmds []instructions.Command) int {
	n := 0
	for _, c := range cmds {
		if isFSStep(c) {
			n++
		}
	}
	return n
}

// stageBase is the state stage i starts FROM: an earlier stage, scratch,
// or an image (a named context may stand for it), pulled when needed.
func (r *run) stageBase(ctx context.Context, i int, baseName string) (*stageState, error) {
	if j, isStage := r.df.stageIndex(baseName, i); isStage {
		st := r.stages[j].clone()
		st.key = hashKey(st.key, "FROM stage")
		return st, nil
	}
	if strings.EqualFold(baseName, "scratch") {
		return &stageState{base: empty.Image, cfg: &v1.ConfigFile{}, key: hashKey("", "FROM scratch"), created: time.Unix(0, 0).UTC()}, nil
	}
	from := baseName
	if nc, ok := r.namedContext(baseName); ok {
		if nc.dir != "" {
			return nil, fmt.Errorf("%w: FROM a directory context (use COPY --from=%s)", ErrUnsupported, baseName)
		}
		from = nc.ref
	}
	img, err := r.baseImage(ctx, from)
	if err != nil {
		return nil, err
	}
	vi, err := img.V1Image()
	if err != nil {
		return nil, err
	}
	return &stageState{base: vi, lowers: img.LayerDirs(), cfg: img.Config().DeepCopy(), key: hashKey("", "FROM", img.ID()), created: img.Created(), healthStart: img.HealthStartInterval()}, nil
}

// onbuildTriggers parses the ONBUILD instructions a base image recorded;
// they run right after FROM, as Docker runs them.
func onbuildTriggers(triggers []string) ([]instructions.Command, error) {
	var out []instructions.Command
	for _, t := range triggers {
		res, err := parser.Parse(strings.NewReader(t))
		if err != nil || len(res.AST.Children) != 1 {
			return nil, fmt.Errorf("%w: ONBUILD trigger %q of the base image: %v", ErrSyntax, t, err)
		}
		node := res.AST.Children[0]
		switch strings.ToUpper(node.Value) {
		case "ONBUILD", "FROM", "MAINTAINER":
			return nil, fmt.Errorf("%w: ONBUILD trigger %q of the base image: %s is not allowed there", ErrSyntax, t, strings.ToUpper(node.Value))
		}
		cmd, err := instructions.ParseCommand(node)
		if err != nil {
			return nil, fmt.Errorf("%w: ONBUILD trigger %q of the base image: %v", ErrSyntax, t, err)
		}
		out = append(out, cmd)
	}
	return out, nil
}

// baseImage finds a base image in the store, pulling it when missing or
// when the build asks to.
func (r *run) baseImage(ctx context.Context, name string) (*image.Image, error) {
	local, err := r.b.store.Get(name)
	if err != nil && !errors.Is(err, image.ErrNotFound) {
		return nil, err
	}
	if local != nil && !r.o.Pull {
		return local, nil
	}
	p := r.b.puller
	if p == nil {
		cfg, err := image.LoadConfig()
		if err != nil {
			return nil, err
		}
		p = image.NewPuller(r.b.store, cfg)
	}
	img, err := p.Pull(ctx, name, image.PullOptions{Platform: "linux/amd64"})
	if err != nil {
		if local != nil {
			return local, nil // --pull offline: keep the local image
		}
		return nil, fmt.Errorf("%w (not in the local store either: load it with `berth image load -i FILE`)", err)
	}
	return img, nil
}

// expander expands words with the stage's ENV (winning) and ARGs.
func (r *run) expander(st *stageState) instructions.SingleWordExpander {
	env := envGetter(envMap(st.cfg.Config.Env), st.args)
	return func(word string) (string, error) {
		v, _, err := r.args.lex.ProcessWord(word, env)
		return v, err
	}
}

// configStep records a step that changes only the config.
func (st *stageState) configStep(createdBy string, keyExtra ...string) {
	st.key = hashKey(st.key, append([]string{createdBy}, keyExtra...)...)
	st.adds = append(st.adds, mutate.Addendum{History: v1.History{
		Created: v1.Time{Time: st.created}, CreatedBy: createdBy, Comment: historyComment, EmptyLayer: true,
	}})
}

// dispatch runs one instruction of a stage.
func (r *run) dispatch(ctx context.Context, st *stageState, cmd instructions.Command) error {
	line := lineOf(cmd.Location())
	fail := func(err error) error { return fmt.Errorf("%s:%d: %s: %w", r.df.name, line, oneLine(cmdText(cmd)), err) }
	if err := r.expandWords(st, cmd); err != nil {
		return fail(err)
	}
	switch cmd := cmd.(type) {
	case *instructions.ArgCommand:
		r.declareArgs(st, cmd)
		return nil
	case *instructions.WorkdirCommand:
		return r.workdir(ctx, st, cmd, fail)
	case *instructions.RunCommand:
		return r.runStep(ctx, st, cmd, fail)
	case *instructions.CopyCommand:
		cs := copySpecOf(cmd)
		cs.stageFrom = st.index
		return r.copyStep(ctx, st, cs, fail)
	case *instructions.AddCommand:
		cs := addSpecOf(cmd)
		cs.stageFrom = st.index
		return r.copyStep(ctx, st, cs, fail)
	}
	createdBy, err := r.configInstruction(st, cmd)
	if err != nil {
		return fail(err)
	}
	st.configStep(createdBy)
	return nil
}

// expandWords expands the stage's ENV and ARGs in the words of cmd, and in
// the contents of heredocs with an unquoted delimiter (variables expanded,
// quotes kept).
func (r *run) expandWords(st *stageState, cmd instructions.Command) error {
	if ex, ok := cmd.(instructions.SupportsSingleWordExpansion); ok {
		if err := ex.Expand(r.expander(st)); err != nil {
			return err
		}
	}
	if ex, ok := cmd.(instructions.SupportsSingleWordExpansionRaw); ok {
		lex := shell.NewLex('\\')
		lex.SkipProcessQuotes = true
		env := envGetter(envMap(st.cfg.Config.Env), st.args)
		if err := ex.ExpandRaw(func(word string) (string, error) {
			v, _, err := lex.ProcessWord(word, env)
			return v, err
		}); err != nil {
			return err
		}
	}
	return nil
}

// declareArgs gives each ARG of cmd its value: the build arg, else its
// default, else the global ARG or the automatic platform arg of that
// name. An ARG with none of these is unset in the stage.
func (r *run) declareArgs(st *stageState, cmd *instructions.ArgCommand) {
	for _, kv := range cmd.Args {
		v, ok := r.args.buildArg(kv.Key)
		switch {
		case ok:
		case kv.Value != nil:
			v, ok = *kv.Value, true
		default:
			if gv, gok := r.args.global[kv.Key]; gok {
				v, ok = gv, true
			} else if pv, pok := platformArgs()[kv.Key]; pok {
				v, ok = pv, true
			}
		}
		if ok {
			st.args[kv.Key] = v
			st.key = hashKey(st.key, "ARG "+kv.Key+"="+v)
		} else {
			delete(st.args, kv.Key)
		}
	}
}

// configInstruction applies an instruction that changes only the image
// config and returns its history's created-by text.
func (r *run) configInstruction(st *stageState, cmd instructions.Command) (createdBy string, err error) {
	c := &st.cfg.Config
	switch cmd := cmd.(type) {
	case *instructions.EnvCommand:
		return "ENV " + setEnvs(c, cmd.Env), nil
	case *instructions.LabelCommand:
		return "LABEL " + setLabels(c, cmd.Labels), nil
	case *instructions.MaintainerCommand:
		st.cfg.Author = cmd.Maintainer
		return "MAINTAINER " + cmd.Maintainer, nil
	case *instructions.UserCommand:
		c.User = cmd.User
		return "USER " + cmd.User, nil
	case *instructions.ExposeCommand:
		ports, err := r.exposePorts(st, cmd.Ports)
		if err != nil {
			return "", err
		}
		return "EXPOSE " + strings.Join(ports, " "), nil
	case *instructions.VolumeCommand:
		if err := addVolumes(c, cmd.Volumes); err != nil {
			return "", err
		}
		return "VOLUME " + jsonList(cmd.Volumes), nil
	case *instructions.StopSignalCommand:
		c.StopSignal = cmd.Signal
		return "STOPSIGNAL " + cmd.Signal, nil
	case *instructions.ShellCommand:
		c.Shell = slices.Clone(cmd.Shell)
		return "SHELL " + jsonList(cmd.Shell), nil
	case *instructions.OnbuildCommand:
		c.OnBuild = append(c.OnBuild, cmd.Expression)
		return "ONBUILD " + cmd.Expression, nil
	case *instructions.CmdCommand:
		c.Cmd = r.commandLine(st, cmd.ShellDependantCmdLine)
		st.cmdSet = true
		return "CMD " + jsonList(c.Cmd), nil
	case *instructions.EntrypointCommand:
		c.Entrypoint = r.commandLine(st, cmd.ShellDependantCmdLine)
		if !st.cmdSet {
			c.Cmd = nil // as Docker: an ENTRYPOINT drops the CMD inherited from the base
		}
		return "ENTRYPOINT " + jsonList(c.Entrypoint), nil
	case *instructions.HealthCheckCommand:
		h := cmd.Health
		c.Healthcheck = &v1.HealthConfig{Test: slices.Clone(h.Test), Interval: h.Interval, Timeout: h.Timeout, StartPeriod: h.StartPeriod, Retries: h.Retries}
		st.healthStart = h.StartInterval
		return "HEALTHCHECK " + jsonList(h.Test), nil
	default:
		return "", fmt.Errorf("%w: instruction %s", ErrUnsupported, strings.ToUpper(cmd.Name()))
	}
}

// setEnvs sets ENV's variables in order and returns them as KEY=VALUE
// words.
func setEnvs(c *v1.Config, kvs instructions.KeyValuePairs) string {
	var parts []string
	for _, kv := range kvs {
		c.Env = setEnv(c.Env, kv.Key, kv.Value)
		parts = append(parts, kv.Key+"="+kv.Value)
	}
	return strings.Join(parts, " ")
}

// setLabels sets LABEL's labels in order and returns them as KEY=VALUE
// words.
func setLabels(c *v1.Config, kvs instructions.KeyValuePairs) string {
	var parts []string
	for _, kv := range kvs {
		if c.Labels == nil {
			c.Labels = map[string]string{}
		}
		c.Labels[kv.Key] = kv.Value
		parts = append(parts, kv.Key+"="+kv.Value)
	}
	return strings.Join(parts, " ")
}

// exposePorts expands EXPOSE's words (one may name several ports) and
// adds each port, tcp unless it says otherwise, lower-cased.
func (r *run) exposePorts(st *stageState, words []string) ([]string, error) {
	c := &st.cfg.Config
	var ports []string
	for _, p := range words {
		ws, err := r.args.lex.ProcessWords(p, envGetter(envMap(c.Env), st.args))
		if err != nil {
			return nil, err
		}
		ports = append(ports, ws...)
	}
	if c.ExposedPorts == nil {
		c.ExposedPorts = map[string]struct{}{}
	}
	for _, p := range ports {
		if !strings.Contains(p, "/") {
			p += "/tcp"
		}
		c.ExposedPorts[strings.ToLower(p)] = struct{}{}
	}
	return ports, nil
}

// addVolumes adds VOLUME's paths; an empty one is an error, as Docker's.
func addVolumes(c *v1.Config, vols []string) error {
	if c.Volumes == nil {
		c.Volumes = map[string]struct{}{}
	}
	for _, v := range vols {
		if v == "" {
			return errors.New("VOLUME specified can not be an empty string")
		}
		c.Volumes[v] = struct{}{}
	}
	return nil
}

// cmdText is a command's source text.
func cmdText(cmd instructions.Command) string {
	if s, ok := cmd.(fmt.Stringer); ok {
		return s.String()
	}
	return strings.ToUpper(cmd.Name())
}

// commandLine turns a CMD/ENTRYPOINT/RUN line into argv: the shell form
// goes through the stage's SHELL.
func (r *run) commandLine(st *stageState, c instructions.ShellDependantCmdLine) []string {
	if !c.PrependShell {
		return slices.Clone(c.CmdLine)
	}
	shell := st.cfg.Config.Shell
	if len(shell) == 0 {
		shell = []string{"/bin/sh", "-c"}
	}
	return append(slices.Clone(shell), strings.Join(c.CmdLine, " "))
}

// jsonList renders a list as Docker's history does (["a","b"]).
func jsonList(l []string) string {
	if l == nil {
		l = []string{}
	}
	b, _ := json.Marshal(l)
	return string(b)
}

// workdir sets the working directory and creates it, owned by the user.
func (r *run) workdir(ctx context.Context, st *stageState, cmd *instructions.WorkdirCommand, fail func(error) error) error {
	p := cmd.Path
	if !path.IsAbs(p) {
		base := st.cfg.Config.WorkingDir
		if base == "" {
			base = "/"
		}
		p = path.Join(base, p)
	}
	p = path.Clean(p)
	st.cfg.Config.WorkingDir = p
	user := st.cfg.Config.User
	return r.fsStep(ctx, st, "WORKDIR "+p, "WORKDIR "+p, []string{"WORKDIR " + p, "user " + user}, fail, func(ctx context.Context, w *workDir, _ *stepEvent) error {
		return mkdirAs(w.layout.Merged, p, user)
	})
}

// runArgs lists the stage's ARGs with values that ENV does not shadow, as
// "K=V" sorted by name (they go into RUN's environment, key and history).
func (st *stageState) runArgs() []string {
	env := envMap(st.cfg.Config.Env)
	var out []string
	for _, k := range slices.Sorted(maps.Keys(st.args)) {
		if _, shadowed := env[k]; !shadowed {
			out = append(out, k+"="+st.args[k])
		}
	}
	sort.Strings(out)
	return out
}
