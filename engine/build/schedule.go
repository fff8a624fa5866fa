package build

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"

	"github.com/berth-dev/berth/engine/image"
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
// jobs it needs have succeeded. A failed job stops nothing already
// running, but no job starts after a failure (nor one whose needs
// failed); the errors of the jobs that failed are returned together, in
// job order. Needs naming no job are ignored.
func Schedule(ctx context.Context, jobs []*Job, limit int, run func(context.Context, *Job) error) error {
	if limit < 1 {
		limit = 1
	}
	byImage := map[string]*Job{}
	for _, j := range jobs {
		byImage[j.Image] = j
	}
	if err := checkCycles(jobs, byImage); err != nil {
		return err
	}
	var (
		mu       sync.Mutex
		cond     = sync.NewCond(&mu)
		done     = map[string]bool{}
		started  = map[string]bool{}
		errs     = map[string]error{}
		running  int
		failed   bool
		wg       sync.WaitGroup
		canceled error
	)
	ready := func(j *Job) bool {
		for _, n := range j.Needs {
			if _, ok := byImage[n]; ok && !done[n] {
				return false
			}
		}
		return true
	}
	mu.Lock()
	for {
		if canceled == nil && ctx.Err() != nil {
			canceled = ctx.Err()
		}
		launched := false
		if !failed && canceled == nil {
			for _, j := range jobs {
				if running >= limit {
					break
				}
				if started[j.Image] || !ready(j) {
					continue
				}
				started[j.Image] = true
				running++
				launched = true
				wg.Add(1)
				go func(j *Job) {
					defer wg.Done()
					err := run(ctx, j)
					mu.Lock()
					running--
					if err != nil {
						errs[j.Image], failed = err, true
					} else {
						done[j.Image] = true
					}
					cond.Broadcast()
					mu.Unlock()
				}(j)
			}
		}
		if launched {
			continue
		}
		if running == 0 {
			break
		}
		cond.Wait()
	}
	mu.Unlock()
	wg.Wait()
	var out []error
	for _, j := range jobs {
		if err := errs[j.Image]; err != nil {
			out = append(out, err)
		}
	}
	if len(out) == 0 && canceled != nil && len(done) < len(jobs) {
		return canceled
	}
	return errors.Join(out...)
}

// checkCycles refuses jobs whose needs loop, naming the services.
func checkCycles(jobs []*Job, byImage map[string]*Job) error {
	const (
		visiting = 1
		visited  = 2
	)
	mark := map[string]int{}
	var path []string
	var visit func(j *Job) error
	visit = func(j *Job) error {
		switch mark[j.Image] {
		case visiting:
			i := slices.Index(path, j.Image)
			var names []string
			for _, img := range append(path[i:], j.Image) {
				names = append(names, strings.Join(byImage[img].Services, ","))
			}
			return fmt.Errorf("%w: %s", ErrBuildCycle, strings.Join(names, " -> "))
		case visited:
			return nil
		}
		mark[j.Image] = visiting
		path = append(path, j.Image)
		for _, n := range j.Needs {
			if d, ok := byImage[n]; ok {
				if err := visit(d); err != nil {
					return err
				}
			}
		}
		path = path[:len(path)-1]
		mark[j.Image] = visited
		return nil
	}
	for _, j := range jobs {
		if err := visit(j); err != nil {
			return err
		}
	}
	return nil
}
