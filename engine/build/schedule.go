package build

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"

	"github.com/berth-dev/berth/engine/image"
	"github.com/berth-dev/berth/graph"
)

// A Job is one image to build for one or more services (services that
// share an image and tag build it once).
type Job struct {
	Image    string   // the image built (ImageName): the job's key
	Services []string // the services it is built for, sorted
	Options  Options
	Needs    []string // images of jobs to build first (set by Plan)
}

// Plan finds the order between jobs: a job needs another when its
// Dockerfile's FROM, COPY --from or RUN --mount=from, or one of its
// docker-image:// additional contexts (a service:NAME one included),
// names an image (or tag) that the other builds. Needs of a job are
// sorted; a Dockerfile that cannot be read leaves its job without needs
// (its build reports the error).
func Plan(jobs []*Job) {
	builds := map[string]string{} // normalized image name → job image
	for _, j := range jobs {
		for _, t := range append([]string{j.Image}, j.Options.Tags...) {
			builds[normRef(t)] = j.Image
		}
	}
	for _, j := range jobs {
		need := map[string]bool{}
		for _, ref := range imagesUsed(&j.Options) {
			if dep, ok := builds[normRef(ref)]; ok && dep != j.Image {
				need[dep] = true
			}
		}
		j.Needs = slices.Sorted(maps.Keys(need))
	}
}

func normRef(s string) string {
	r, err := image.ParseReference(s)
	if err != nil {
		return s
	}
	return r.String()
}

// imagesUsed lists the image references a build may read: its
// docker-image:// contexts and the FROM / --from names of its Dockerfile
// (global ARGs expanded with the build's args) that are neither stages
// nor additional contexts.
func imagesUsed(o *Options) []string {
	var out []string
	for _, v := range o.Contexts {
		if ref, ok := strings.CutPrefix(v, imageScheme); ok {
			out = append(out, ref)
		}
	}
	name, data, err := readDockerfile(o)
	if err != nil {
		return out
	}
	df, err := parseDockerfile(name, data)
	if err != nil {
		return out
	}
	args := newArgScope(df.escape, o.Args)
	if args.declareGlobal(df.metaArgs) != nil {
		return out
	}
	add := func(word string, before int) {
		if word == "" {
			return
		}
		ref, err := args.expandGlobal(word)
		if err != nil || strings.EqualFold(ref, "scratch") {
			return
		}
		if _, isStage := df.stageIndex(ref, before); isStage {
			return
		}
		if _, isContext := o.Contexts[ref]; isContext {
			return
		}
		out = append(out, ref)
	}
	for i, s := range df.stages {
		add(s.BaseName, i)
		for _, cmd := range s.Commands {
			switch c := cmd.(type) {
			case *instructions.CopyCommand:
				add(c.From, i)
			case *instructions.RunCommand:
				for _, m := range instructions.GetMounts(c) {
					add(m.From, i)
				}
			}
		}
	}
	return out
}

// ErrBuildCycle is a set of builds that need each other's images.
var ErrBuildCycle = errors.New("builds depend on each other in a cycle")

// Schedule runs run for every job, at most limit at once, each once the
// jobs it needs have succeeded: a walk of the jobs' graph (package
// graph, the walker of up and down). The first failure starts no more
// jobs and cancels the running ones' context; its error is returned.
// Needs naming no job are ignored; jobs needing each other are refused
// before any runs.
func Schedule(ctx context.Context, jobs []*Job, limit int, run func(context.Context, *Job) error) error {
	byImage := map[string]*Job{}
	var nodes []string
	for _, j := range jobs {
		byImage[j.Image] = j
		nodes = append(nodes, j.Image)
	}
	deps := map[string][]string{}
	for _, j := range jobs {
		for _, n := range j.Needs {
			if _, ok := byImage[n]; ok {
				deps[j.Image] = append(deps[j.Image], n)
			}
		}
	}
	g, err := graph.New(nodes, deps)
	if err != nil {
		var ce *graph.CycleError
		if errors.As(err, &ce) {
			var names []string
			for _, img := range ce.Path {
				names = append(names, strings.Join(byImage[img].Services, ","))
			}
			return fmt.Errorf("%w: %s", ErrBuildCycle, strings.Join(names, " -> "))
		}
		return err
	}
	err = g.Walk(ctx, graph.Forward, limit, func(ctx context.Context, img string) error {
		return run(ctx, byImage[img])
	})
	var ne *graph.NodeError
	if errors.As(err, &ne) {
		return ne.Err // the job's error names its service
	}
	return err
}
