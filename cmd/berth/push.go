package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/docker/go-units"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/berth-dev/berth/engine"
)

type pushCmdOptions struct {
	quiet          bool
	ignoreFailures bool
	includeDeps    bool
}

// newPushCmd is Compose's `push [SERVICE...]`: the images of services that
// have both build: and image: (and build.tags), as Compose pushes them.
func newPushCmd(g *globalOptions) *cobra.Command {
	var o pushCmdOptions
	cmd := &cobra.Command{
		Use:   "push [OPTIONS] [SERVICE...]",
		Short: "Push service images",
		Long: `Push the images of the project's services that are built (build: with an
image: naming where they go, plus build.tags) to their registries, all at
once. Services without build: or image: are skipped, as Compose does.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPush(cmd.Context(), g, o, args)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.quiet, "quiet", "q", false, "Push without printing progress information")
	f.BoolVar(&o.ignoreFailures, "ignore-push-failures", false, "Push what it can and ignores images with push failures")
	f.BoolVar(&o.includeDeps, "include-deps", false, "Also push images of services declared as dependencies")
	return cmd
}

func runPush(ctx context.Context, g *globalOptions, o pushCmdOptions, services []string) error {
	p, err := pushProject(ctx, g, o, services)
	if err != nil {
		return err
	}
	store, err := openImageStore()
	if err != nil {
		return err
	}
	cfg, err := engine.LoadRegistryConfig()
	if err != nil {
		return err
	}
	out := io.Discard
	if !o.quiet {
		out = g.statusOut()
	}
	prog := newPushProgress(out, !o.quiet && isTerminalWriter(out), g.colorEnabledOn(out), true)
	var jobs []pushJob
	for _, e := range planPushes(p) {
		if e.skipped {
			prog.line(e.service, "Skipped")
			continue
		}
		for _, ref := range e.refs {
			jobs = append(jobs, pushJob{e.service, ref})
			prog.add(ref)
		}
	}
	prog.run()
	pusher := engine.NewPusher(store, cfg)
	push := func(ctx context.Context, ref string) error {
		_, err := pusher.Push(ctx, ref, engine.PushOptions{Progress: prog.event})
		return err
	}
	failed, err := pushAll(ctx, jobs, 4, o.ignoreFailures, push, prog.fail)
	prog.finish()
	for _, e := range failed {
		fmt.Fprintf(g.stderr, "WARNING: Pushing %v\n", e)
	}
	return err
}

// pushProject loads the project with the named services (checked to
// exist) and, under --include-deps, their dependencies.
func pushProject(ctx context.Context, g *globalOptions, o pushCmdOptions, services []string) (*types.Project, error) {
	p, err := g.loadProject(ctx, naming(services...))
	if err != nil {
		return nil, err
	}
	if _, err := pullServiceNames(p, services); err != nil {
		return nil, err
	}
	if len(services) == 0 {
		return p, nil
	}
	dep := types.IgnoreDependencies
	if o.includeDeps {
		dep = types.IncludeDependencies
	}
	return p.WithSelectedServices(services, dep)
}

// pushEntry is one service in push's plan: skipped (no build: or no
// image:), or the references it pushes that no earlier service pushes.
type pushEntry struct {
	service string
	skipped bool
	refs    []string
}

// pushJob is one reference to push, for the service that names it.
type pushJob struct{ service, ref string }

// planPushes is push's plan, service by service in name order: as
// Compose, a service is pushed only with both build: and image:, to its
// image and each build.tags entry.
func planPushes(p *types.Project) []pushEntry {
	names := make([]string, 0, len(p.Services))
	for n := range p.Services {
		names = append(names, n)
	}
	sort.Strings(names)
	var plan []pushEntry
	seen := map[string]bool{}
	for _, n := range names {
		svc := p.Services[n]
		if svc.Build == nil || svc.Image == "" {
			plan = append(plan, pushEntry{service: n, skipped: true})
			continue
		}
		e := pushEntry{service: n}
		for _, ref := range append([]string{svc.Image}, svc.Build.Tags...) {
			if !seen[ref] {
				seen[ref] = true
				e.refs = append(e.refs, ref)
			}
		}
		plan = append(plan, e)
	}
	return plan
}

// pushAll pushes the jobs, limit at once. A failure is reported to fail;
// under ignoreFailures it is returned among failed and the rest go on,
// else it cancels the others and is the error.
func pushAll(ctx context.Context, jobs []pushJob, limit int, ignoreFailures bool, push func(context.Context, string) error, fail func(string, error)) (failed []error, err error) {
	var mu sync.Mutex
	eg, ectx := errgroup.WithContext(ctx)
	eg.SetLimit(limit)
	for _, j := range jobs {
		eg.Go(func() error {
			err := push(ectx, j.ref)
			if err == nil {
				return nil
			}
			err = fmt.Errorf("service %s: %w", j.service, err)
			fail(j.ref, err)
			if !ignoreFailures {
				return err
			}
			mu.Lock()
			failed = append(failed, err)
			mu.Unlock()
			return nil
		})
	}
	err = eg.Wait()
	return failed, err
}

// newImagePushCmd is `berth image push NAME[:TAG]` (docker push).
func newImagePushCmd(g *globalOptions) *cobra.Command {
	var all, quiet bool
	cmd := &cobra.Command{
		Use:   "push [OPTIONS] NAME[:TAG]",
		Short: "Upload an image to a registry",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			store, err := openImageStore()
			if err != nil {
				return err
			}
			cfg, err := engine.LoadRegistryConfig()
			if err != nil {
				return err
			}
			ref, err := engine.ParseImageReference(args[0])
			if err != nil {
				return err
			}
			refs := []string{args[0]}
			if all {
				if refs, err = store.TagsOf(args[0]); err != nil {
					return err
				}
			}
			if !quiet {
				fmt.Fprintf(g.stdout, "The push refers to repository [%s]\n", ref.Name())
			}
			pusher := engine.NewPusher(store, cfg)
			for _, r := range refs {
				out := g.stdout
				if quiet {
					out = io.Discard
				}
				prog := newPushProgress(out, !quiet && isTerminalWriter(g.stdout), g.colorEnabledOn(g.stdout), false)
				prog.add(r)
				prog.run()
				res, err := pusher.Push(cmd.Context(), r, engine.PushOptions{Progress: prog.event})
				if err != nil {
					prog.fail(r, err)
				}
				prog.finish()
				if err != nil {
					return err
				}
				pr, _ := engine.ParseImageReference(r)
				if quiet {
					fmt.Fprintln(g.stdout, pr.Familiar())
				} else {
					fmt.Fprintf(g.stdout, "%s: digest: %s size: %d\n", pr.Tag, res.Digest, res.Size)
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&all, "all-tags", "a", false, "Push all tags of an image to the repository")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "Suppress verbose output")
	return cmd
}

// pushProgress shows push events: plain lines (`LAYER: Pushed`, as docker
// push prints them) off a terminal, a live block with bars on one.
type pushProgress struct {
	mu      sync.Mutex
	w       io.Writer
	tty     bool
	color   bool
	compose bool // lines prefixed "Pushing REF:" as Compose's
	start   time.Time
	order   []string
	items   map[string]*pushItem
	last    map[string]engine.ImageStatus
	drawn   int
	ticker  redrawTicker
}

type pushItem struct {
	status string
	err    bool
	layers []string
	layer  map[string]engine.ImageEvent
}

func newPushProgress(w io.Writer, tty, color, compose bool) *pushProgress {
	return &pushProgress{w: w, tty: tty, color: color, compose: compose, start: time.Now(),
		items: map[string]*pushItem{}, last: map[string]engine.ImageStatus{}}
}

func (p *pushProgress) add(ref string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	label := familiarRef(ref)
	p.order = append(p.order, label)
	p.items[label] = &pushItem{status: "Waiting", layer: map[string]engine.ImageEvent{}}
}

func familiarRef(ref string) string {
	if r, err := engine.ParseImageReference(ref); err == nil {
		return r.Familiar()
	}
	return ref
}

// line prints a line about a service that is not pushed.
func (p *pushProgress) line(service, text string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty {
		p.order = append(p.order, service)
		p.items[service] = &pushItem{status: text, layer: map[string]engine.ImageEvent{}}
		return
	}
	fmt.Fprintf(p.w, " %s %s\n", service, text)
}

func (p *pushProgress) event(e engine.ImageEvent) {
	p.mu.Lock()
	defer p.mu.Unlock()
	it := p.items[e.Image]
	if it == nil {
		return
	}
	if e.Layer == "" {
		it.status = string(e.Status)
		if e.Status == engine.ImageStatusPushDone {
			it.status = "Pushed"
		}
		if p.compose && !p.tty {
			fmt.Fprintf(p.w, " Pushing %s: %s\n", e.Image, it.status)
		}
		return
	}
	if _, ok := it.layer[e.Layer]; !ok {
		it.layers = append(it.layers, e.Layer)
	}
	it.layer[e.Layer] = e
	it.status = "Pushing"
	if p.tty || p.last[e.Image+e.Layer] == e.Status {
		return
	}
	p.last[e.Image+e.Layer] = e.Status
	text := string(e.Status)
	if e.Status == engine.ImageStatusMounted {
		text = "Mounted from " + e.From
	}
	if p.compose {
		fmt.Fprintf(p.w, " Pushing %s: %s %s\n", e.Image, e.Layer, text)
	} else {
		fmt.Fprintf(p.w, "%s: %s\n", e.Layer, text)
	}
}

func (p *pushProgress) fail(ref string, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if it := p.items[familiarRef(ref)]; it != nil {
		it.status, it.err = "Error", true
	}
	if p.compose && !p.tty {
		fmt.Fprintf(p.w, " Pushing %s: Error: %v\n", familiarRef(ref), err)
	}
}

func (p *pushProgress) run() {
	if p.tty {
		p.ticker.start(p.redraw)
	}
}

func (p *pushProgress) finish() { p.ticker.finish() }

func (p *pushProgress) redraw() {
	p.mu.Lock()
	defer p.mu.Unlock()
	var b strings.Builder
	if p.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", p.drawn)
	}
	var lines []string
	if p.compose {
		done := 0
		for _, l := range p.order {
			if s := p.items[l].status; s == "Pushed" || s == "Skipped" {
				done++
			}
		}
		lines = append(lines, fmt.Sprintf("[+] Pushing %d/%d", done, len(p.order)))
	}
	for _, label := range p.order {
		it := p.items[label]
		mark := spinner(time.Since(p.start))
		switch {
		case it.err:
			mark = p.paint("31", "✘")
		case it.status == "Pushed" || it.status == "Skipped":
			mark = p.paint("32", "✔")
		}
		lines = append(lines, fmt.Sprintf(" %s %s %s", mark, label, it.status))
		for _, id := range it.layers {
			e := it.layer[id]
			l := fmt.Sprintf("   %s: %s", id, e.Status)
			if e.Status == engine.ImageStatusMounted {
				l = fmt.Sprintf("   %s: Mounted from %s", id, e.From)
			}
			if e.Status == engine.ImageStatusPushing && e.Total > 0 {
				l += " " + bar(e.Current, e.Total, 20) + " " + units.HumanSize(float64(e.Current)) + "/" + units.HumanSize(float64(e.Total))
			}
			lines = append(lines, l)
		}
	}
	for _, l := range lines {
		b.WriteString("\x1b[2K")
		b.WriteString(l)
		b.WriteByte('\n')
	}
	p.drawn = len(lines)
	io.WriteString(p.w, b.String())
}

func (p *pushProgress) paint(code, s string) string {
	if !p.color {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}
