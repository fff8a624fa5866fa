package main

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/engine"
)

// attachedUp is an attached `berth up` once its containers run: it prints
// the output of the attached services' containers, reports the exits of
// the watched ones, and ends when none of those runs, when an exit aborts
// it (--abort-on-container-exit/-failure, --exit-code-from) or at Ctrl-C,
// stopping the project in the last two cases.
type attachedUp struct {
	g                 *globalOptions
	eng               *engine.Engine
	p                 *types.Project
	services          []string
	o                 upOptions
	attached, watched map[string]bool

	pr         *logPrinter
	stopAttach context.CancelFunc
	exitCode   int
	abortedBy  string // the container whose exit aborted the up
}

// run follows the containers' logs (those after offsets) and exits until
// the up ends, and returns its exit code as an error.
func (a *attachedUp) run(ctx context.Context, offsets map[string]int64) error {
	recs, err := a.eng.Containers(a.p.Name)
	if err != nil {
		return err
	}
	var cs []*engine.Container
	for _, r := range recs {
		if a.follows(r) {
			cs = append(cs, r)
		}
	}
	if names := attachNames(a.p.Name, cs, a.attached); len(names) > 0 {
		fmt.Fprintf(a.g.stdout, "Attaching to %s\n", strings.Join(names, ", "))
	}
	a.pr = newLogPrinter(a.g, cs, a.o.timestamps, a.o.noLogPrefix)
	a.pr.splitStreams(a.g.stderr)
	attachCtx, stopAttach := context.WithCancel(ctx)
	defer stopAttach()
	a.stopAttach = stopAttach
	if a.o.watch {
		stopWatch := startUpWatch(attachCtx, a.g, a.eng, a.p, a.services)
		defer stopWatch()
	}
	aerr := a.eng.Attach(attachCtx, cs, engine.AttachOptions{
		Offsets: offsets,
		Project: a.p.Name,
		Join:    a.follows,
		Watched: func(c *engine.Container) bool { return a.watched[c.Service] },
		Exited:  a.exited,
	}, a.line)
	return a.finish(ctx, aerr)
}

// follows says whether the up follows a container: a service one (not a
// one-off) whose output it prints or whose exits it watches.
func (a *attachedUp) follows(c *engine.Container) bool {
	return !c.Oneoff && (a.attached[c.Service] || a.watched[c.Service])
}

// line prints a log line of an attached service.
func (a *attachedUp) line(l engine.LogLine) {
	if a.attached[l.Service] {
		a.pr.line(l)
	}
}

// exited reports a watched container's exit, keeps the exit code the up
// returns, and stops following when the exit aborts the up.
func (a *attachedUp) exited(c *engine.Container, st *engine.ContainerState) {
	a.pr.status(c, fmt.Sprintf("exited with code %d", st.ExitCode))
	if a.o.exitCodeFrom != "" && c.Service == a.o.exitCodeFrom {
		a.exitCode = st.ExitCode
	}
	if a.abortedBy == "" && a.o.abortsOn(st) {
		a.abortedBy = c.Name
		if a.o.exitCodeFrom == "" {
			a.exitCode = st.ExitCode
		}
		a.stopAttach()
	}
}

// finish stops the project after Ctrl-C (exit 130) or an abort, and
// returns the up's exit code.
func (a *attachedUp) finish(ctx context.Context, aerr error) error {
	if aerr != nil && ctx.Err() != nil {
		fmt.Fprintln(a.g.stderr, "Gracefully stopping... (press Ctrl+C again to force)")
		stopProject(a.g, a.eng, a.p, a.services, a.o, forceContext(ctx))
		return &exitCodeError{code: 130}
	}
	if a.abortedBy != "" {
		fmt.Fprintf(a.g.stderr, "Aborting on container exit (%s)...\n", a.abortedBy)
		stopProject(a.g, a.eng, a.p, a.services, a.o, context.Background())
		if a.o.exitCodeFrom != "" {
			if st := exitCodeOf(a.eng, a.p.Name, a.o.exitCodeFrom); st >= 0 {
				a.exitCode = st
			}
		}
	}
	if a.exitCode != 0 {
		return &exitCodeError{code: a.exitCode}
	}
	return nil
}

// abortsOn says whether a container's exit aborts an attached up: any
// exit with --abort-on-container-exit (or --exit-code-from), a failure
// with --abort-on-container-failure; a container that is restarting has
// not exited for good.
func (o upOptions) abortsOn(st *engine.ContainerState) bool {
	return (o.abortOnExit || (o.abortOnFail && st.ExitCode != 0)) && st.Status == engine.StatusExited
}

// attachNames are the containers an up says it attaches to, as Compose
// writes them ("web-1", without the project), sorted: those of cs whose
// service is attached.
func attachNames(project string, cs []*engine.Container, attached map[string]bool) []string {
	var names []string
	for _, c := range cs {
		if attached[c.Service] {
			names = append(names, strings.TrimPrefix(c.Name, project+"-"))
		}
	}
	sort.Strings(names)
	return names
}
