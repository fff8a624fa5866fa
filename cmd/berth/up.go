package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/engine"
	"github.com/berth-dev/berth/project"
)

type upOptions struct {
	detach           bool
	noStart          bool
	pull             string
	quietPull        bool
	abortOnExit      bool
	abortOnFail      bool
	exitCodeFrom     string
	attach           []string
	noAttach         []string
	attachDeps       bool
	menu             bool
	quietBuild       bool
	yes              bool
	removeOrphansSet bool
	timestamps       bool
	noLogPrefix      bool
	forceRecreate    bool
	noRecreate       bool
	noDeps           bool
	removeOrphans    bool
	scale            []string
	timeout          int
	timeoutSet       bool
	dryRun           bool
	wait             bool
	waitTimeout      int
	recreateDeps     bool
	renewAnon        bool
	build            bool
	noBuild          bool
	watch            bool
}

func newUpCmd(g *globalOptions) *cobra.Command {
	var o upOptions
	cmd := &cobra.Command{
		Use:   "up [OPTIONS] [SERVICE...]",
		Short: "Create and start containers",
		Long: `Create and start the project's containers, in dependency order, converging
what runs to what the compose file says: unchanged containers are kept,
changed ones recreated. Attached (the default), it prints every container's
output until they all exit or Ctrl-C stops them (a second Ctrl-C kills).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.timeoutSet = cmd.Flags().Changed("timeout")
			o.removeOrphansSet = cmd.Flags().Changed("remove-orphans")
			return runUp(cmd.Context(), g, o, args)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.detach, "detach", "d", false, "Detached mode: run containers in the background")
	f.BoolVar(&o.noStart, "no-start", false, "Don't start the services after creating them")
	f.StringVar(&o.pull, "pull", "", "Pull images before running: always, missing, never")
	f.BoolVar(&o.quietPull, "quiet-pull", false, "Pull without printing progress")
	f.BoolVar(&o.build, "build", false, "Build images before starting containers")
	f.BoolVar(&o.noBuild, "no-build", false, "Don't build an image, even if it's missing")
	f.BoolVar(&o.abortOnExit, "abort-on-container-exit", false, "Stop all containers if any container stops (not with -d)")
	f.BoolVar(&o.abortOnFail, "abort-on-container-failure", false, "Stop all containers if any container exits with a failure (not with -d)")
	f.StringVar(&o.exitCodeFrom, "exit-code-from", "", "Return the exit code of this service's container (implies --abort-on-container-exit)")
	f.StringArrayVar(&o.attach, "attach", nil, "Print the output of these services only (repeatable)")
	f.StringArrayVar(&o.noAttach, "no-attach", nil, "Don't print the output of these services (repeatable)")
	f.BoolVar(&o.attachDeps, "attach-dependencies", false, "Print the output of the named services' dependencies too")
	f.BoolVar(&o.menu, "menu", false, "Accepted for compatibility: berth has no interactive menu (also COMPOSE_MENU)")
	f.BoolVar(&g.noColor, "no-color", false, "Produce monochrome output")
	f.BoolVar(&o.quietBuild, "quiet-build", false, "Don't print the build's output")
	f.BoolVarP(&o.yes, "yes", "y", false, "Assume yes: recreate the volumes whose definition changed (their data is lost) and the containers using them")
	f.BoolVar(&o.timestamps, "timestamps", false, "Show timestamps")
	f.BoolVar(&o.noLogPrefix, "no-log-prefix", false, "Don't print a prefix in logs")
	f.BoolVar(&o.forceRecreate, "force-recreate", false, "Recreate containers even if nothing changed")
	f.BoolVar(&o.noRecreate, "no-recreate", false, "Don't recreate containers that exist")
	f.BoolVar(&o.noDeps, "no-deps", false, "Don't start linked services")
	f.BoolVar(&o.removeOrphans, "remove-orphans", false, "Remove containers of services not in the compose file (default: COMPOSE_REMOVE_ORPHANS)")
	f.StringArrayVar(&o.scale, "scale", nil, "Scale SERVICE to NUM instances (overrides scale in the compose file)")
	f.IntVarP(&o.timeout, "timeout", "t", 0, "Seconds to wait for a container to stop when stopping (default: its stop_grace_period, else 10)")
	f.BoolVar(&o.dryRun, "dry-run", false, "Print what up would do, with the fields whose change causes it, and do nothing")
	f.BoolVar(&o.recreateDeps, "always-recreate-deps", false, "Recreate dependent containers (incompatible with --no-recreate)")
	f.BoolVarP(&o.renewAnon, "renew-anon-volumes", "V", false, "Recreate anonymous volumes instead of retrieving data from the previous containers")
	f.BoolVar(&o.wait, "wait", false, "Wait for services to be running and healthy (implies --detach)")
	f.IntVar(&o.waitTimeout, "wait-timeout", 0, "Maximum seconds to wait with --wait (default: no limit)")
	f.BoolVarP(&o.watch, "watch", "w", false, "Watch source code and update the containers as files change (see `berth watch`)")
	return cmd
}

// runUp is `berth up`: it converges the project, then, attached, prints
// its containers' output until they exit or Ctrl-C stops them.
func runUp(ctx context.Context, g *globalOptions, o upOptions, services []string) error {
	if err := o.validate(); err != nil {
		return err
	}
	p, scale, cenv, err := loadUp(ctx, g, &o, services)
	if err != nil {
		return err
	}
	attached, watched, err := upAttachSets(p, services, o)
	if err != nil {
		return err
	}
	hooks := &hookRelay{}
	eng, err := g.newEngine(append(o.engineOpts(), engine.WithHookOutput(hooks.line))...)
	if err != nil {
		return err
	}
	if o.watch {
		if err := engine.CheckWatch(p, services); err != nil {
			return err
		}
	}
	uo := o.engineUpOptions(services, scale, cenv, g.allResources)
	if o.dryRun {
		return printUpPlan(ctx, g, eng, p, uo)
	}
	var offsets map[string]int64
	if !o.detach {
		// attached, the output starts with what comes after these
		recs, _ := eng.Containers(p.Name)
		offsets = eng.LogOffsets(recs)
	}
	if err := converge(ctx, g, eng, p, uo, services, o); err != nil {
		return err
	}
	if o.detach || o.noStart {
		return nil
	}
	a := &attachedUp{g: g, eng: eng, p: p, services: services, o: o, attached: attached, watched: watched, hooks: hooks}
	return a.run(ctx, offsets)
}

// loadUp loads the project of an up, reads --scale, and reads the
// COMPOSE_* variables that complete its flags (--remove-orphans' default,
// the parallel limit), refusing the combinations docker compose refuses.
func loadUp(ctx context.Context, g *globalOptions, o *upOptions, services []string) (*types.Project, map[string]int, composeEnv, error) {
	p, err := g.loadProject(ctx, naming(services...))
	if err != nil {
		return nil, nil, composeEnv{}, err
	}
	if o.exitCodeFrom != "" {
		if _, ok := p.Services[o.exitCodeFrom]; !ok {
			return nil, nil, composeEnv{}, fmt.Errorf("--exit-code-from %s: no such service", o.exitCodeFrom)
		}
	}
	scale, err := parseScale(o.scale)
	if err != nil {
		return nil, nil, composeEnv{}, err
	}
	cenv := composeEnvOf(p)
	if cenv.err != nil {
		return nil, nil, composeEnv{}, cenv.err
	}
	if !o.removeOrphansSet {
		o.removeOrphans = cenv.removeOrphans
	}
	if n, err := g.parallelLimit(cenv, len(p.Services)); err != nil {
		return nil, nil, composeEnv{}, err
	} else if n > 0 {
		cenv.parallel = n
	}
	if cenv.ignoreOrphans && o.removeOrphans {
		return nil, nil, composeEnv{}, errors.New("cannot combine COMPOSE_IGNORE_ORPHANS and --remove-orphans")
	}
	return p, scale, cenv, nil
}

// engineOpts are the engine options up's flags ask for.
func (o upOptions) engineOpts() []engine.Opt {
	var opts []engine.Opt
	if o.quietBuild {
		opts = append(opts, engine.WithBuildProgress(nil))
	}
	return opts
}

// engineUpOptions translates up's flags, with the scale, the COMPOSE_*
// settings and --all-resources, into the engine's UpOptions.
func (o upOptions) engineUpOptions(services []string, scale map[string]int, cenv composeEnv, allResources bool) engine.UpOptions {
	return engine.UpOptions{
		Services:        services,
		NoDeps:          o.noDeps,
		NoStart:         o.noStart,
		Pull:            o.pull,
		Build:           buildMode(o.build, o.noBuild),
		Scale:           scale,
		ForceRecreate:   o.forceRecreate,
		NoRecreate:      o.noRecreate,
		RemoveOrphans:   o.removeOrphans,
		IgnoreOrphans:   cenv.ignoreOrphans,
		Parallel:        cenv.parallel,
		AllResources:    allResources,
		RecreateVolumes: o.yes,

		AlwaysRecreateDeps: o.recreateDeps,
		RenewAnonVolumes:   o.renewAnon,
	}
}

// printUpPlan is up --dry-run: what up would do, and nothing done.
func printUpPlan(ctx context.Context, g *globalOptions, eng *engine.Engine, p *types.Project, uo engine.UpOptions) error {
	plan, err := eng.Plan(ctx, p, uo)
	if err != nil {
		return err
	}
	fmt.Fprint(g.stdout, plan.String())
	if plan.Empty() && len(plan.Orphans) == 0 {
		fmt.Fprintln(g.stdout, "nothing to do: every container is up to date")
	}
	return nil
}

// converge runs the engine's up and, with --wait, waits for the services
// to be running and healthy. Interrupted while starting, it stops what was
// started and exits 130.
func converge(ctx context.Context, g *globalOptions, eng *engine.Engine, p *types.Project, uo engine.UpOptions, services []string, o upOptions) error {
	plan, err := eng.Up(ctx, p, uo)
	if err != nil {
		if ctx.Err() != nil {
			stopProject(g, eng, p, services, o, forceContext(ctx))
			return &exitCodeError{code: 130, err: errors.New("interrupted")}
		}
		return err
	}
	if plan.Empty() && o.detach {
		fmt.Fprintln(g.stderr, " ✔ Nothing to do: every container is up to date")
	}
	if !o.wait || o.noStart {
		return nil
	}
	return eng.Wait(ctx, p, o.waitOptions(p, services))
}

// waitOptions are --wait's: the named services and their dependencies
// (all with none named), --wait-timeout.
func (o upOptions) waitOptions(p *types.Project, services []string) engine.WaitOptions {
	wo := engine.WaitOptions{Services: attachServices(p, services, o.noDeps)}
	if len(services) == 0 {
		wo.Services = nil
	}
	if o.waitTimeout > 0 {
		wo.Timeout = time.Duration(o.waitTimeout) * time.Second
	}
	return wo
}

// stopProject stops the attached services in reverse order; when force is
// canceled (a second Ctrl-C) it kills instead.
func stopProject(g *globalOptions, eng *engine.Engine, p *types.Project, services []string, o upOptions, force context.Context) {
	sel := engine.Selection{Project: p.Name, P: p, Services: services}
	var timeout *time.Duration
	if o.timeoutSet {
		t := time.Duration(o.timeout) * time.Second
		timeout = &t
	}
	done := make(chan error, 1)
	go func() { done <- eng.Stop(force, sel, timeout) }()
	select {
	case err := <-done:
		if err != nil && force.Err() == nil {
			fmt.Fprintf(g.stderr, "berth: stop: %v\n", err)
		}
		if force.Err() == nil {
			return
		}
	case <-force.Done():
	}
	fmt.Fprintln(g.stderr, "Killing...")
	zero := time.Duration(0)
	eng.Stop(context.Background(), sel, &zero)
}

func exitCodeOf(eng *engine.Engine, projectName, service string) int {
	recs, err := eng.Containers(projectName)
	if err != nil {
		return -1
	}
	for _, r := range recs {
		if r.Service == service && !r.Oneoff {
			if st, err := eng.ContainerState(r.ID); err == nil && st.Status == engine.StatusExited {
				return st.ExitCode
			}
		}
	}
	return -1
}

// attachServices are the named services and, unless noDeps, their
// dependencies.
func attachServices(p *types.Project, services []string, noDeps bool) []string {
	if noDeps {
		return services
	}
	g, err := serviceGraph(p)
	if err != nil {
		return services
	}
	return g.Subgraph(services, 0).Nodes()
}

// validate checks the flag combinations docker compose refuses, and sets
// what some imply: --exit-code-from is --abort-on-container-exit, --wait
// is --detach.
func (o *upOptions) validate() error {
	if o.exitCodeFrom != "" && !o.abortOnFail {
		o.abortOnExit = true
	}
	if err := o.validateAttach(); err != nil {
		return err
	}
	return o.validatePairs()
}

// validateAttach checks how up runs: attached (--abort-*, --attach*),
// detached (--detach, --wait) or watching.
func (o *upOptions) validateAttach() error {
	if o.abortOnExit && o.abortOnFail {
		return errors.New("--abort-on-container-failure cannot be combined with --abort-on-container-exit")
	}
	if o.wait {
		if o.attachDeps || o.abortOnExit || len(o.attach) > 0 {
			return errors.New("--wait cannot be combined with --abort-on-container-exit, --attach or --attach-dependencies")
		}
		o.detach = true
	}
	if o.watch && o.detach {
		return errors.New("--watch cannot be combined with --detach or --wait")
	}
	if o.detach && (o.abortOnExit || o.abortOnFail || o.attachDeps || len(o.attach) > 0) {
		return errors.New("--detach cannot be combined with --abort-on-container-exit, --abort-on-container-failure, --exit-code-from, --attach or --attach-dependencies")
	}
	if len(o.attach) > 0 && o.attachDeps {
		return errors.New("cannot combine --attach and --attach-dependencies")
	}
	return nil
}

// validatePairs checks the flags that exclude each other, and --pull.
func (o *upOptions) validatePairs() error {
	for _, c := range []struct {
		both bool
		msg  string
	}{
		{o.forceRecreate && o.noRecreate, "--force-recreate and --no-recreate cannot be used together"},
		{o.build && o.noBuild, "--build and --no-build cannot be used together"},
		{o.recreateDeps && o.noRecreate, "--always-recreate-deps and --no-recreate cannot be used together"},
	} {
		if c.both {
			return errors.New(c.msg)
		}
	}
	switch o.pull {
	case "", "always", "missing", "never":
		return nil
	}
	return fmt.Errorf("--pull %q: want always, missing or never", o.pull)
}

// upAttachSets are, as docker compose has them, the services whose output
// an attached up prints (--attach, else the named services, with their
// dependencies under --attach-dependencies, else all; less attach: false
// and --no-attach) and those whose exits it watches: the named services,
// else the attached ones. Up returns when no watched container runs.
func upAttachSets(p *types.Project, services []string, o upOptions) (attached, watched map[string]bool, err error) {
	attached = map[string]bool{}
	if len(o.attach) > 0 {
		var unknown []string
		for _, s := range o.attach {
			if _, ok := p.Services[s]; !ok {
				unknown = append(unknown, s)
			}
			attached[s] = true
		}
		if len(unknown) > 0 {
			return nil, nil, fmt.Errorf("cannot attach to services not included in up: %s", strings.Join(unknown, ", "))
		}
	} else {
		names := services
		switch {
		case len(services) == 0:
			names = project.ServiceNames(p)
		case o.attachDeps:
			names = attachServices(p, services, false)
		}
		for _, s := range names {
			if svc, ok := p.Services[s]; ok && (svc.Attach == nil || *svc.Attach) {
				attached[s] = true
			}
		}
	}
	for _, s := range o.noAttach {
		delete(attached, s)
	}
	watched = map[string]bool{}
	for _, s := range services {
		watched[s] = true
	}
	if len(services) == 0 {
		for s := range attached {
			watched[s] = true
		}
		if len(watched) == 0 {
			for s := range p.Services {
				watched[s] = true
			}
		}
	}
	return attached, watched, nil
}

func parseScale(specs []string) (map[string]int, error) {
	out := map[string]int{}
	for _, s := range specs {
		name, n, ok := strings.Cut(s, "=")
		v, err := strconv.Atoi(n)
		if !ok || name == "" || err != nil || v < 0 {
			return nil, fmt.Errorf("--scale %q: want SERVICE=NUM", s)
		}
		out[name] = v
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

// buildMode turns --build / --no-build into the engine's build mode.
func buildMode(build, noBuild bool) string {
	switch {
	case build:
		return engine.BuildAlways
	case noBuild:
		return engine.BuildNever
	}
	return engine.BuildMissing
}
