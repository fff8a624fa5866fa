package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/engine"
)

// attachedUp is an attached `berth up` once its containers run: it prints
// the output of the attached services' containers and of their hooks,
// reports the exits of the watched ones, and ends when none of those runs.
// An exit that aborts it (--abort-on-container-exit/-failure,
// --exit-code-from) stops the project while the output goes on being
// printed, as Compose; Ctrl-C stops it gracefully (a second one kills).
type attachedUp struct {
	g                 *globalOptions
	eng               *engine.Engine
	p                 *types.Project
	services          []string
	o                 upOptions
	attached, watched map[string]bool

	hooks        *hookRelay
	pr           *logPrinter
	stopAttach   context.CancelFunc
	stopWatch    context.CancelFunc // ends up --watch's watcher
	exitCode     int
	abortedBy    string        // the container whose exit aborted the up
	abortStopped chan struct{} // closed when the abort's stop is done
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
	a.hooks.to(a.pr, a.attached)
	attachCtx, stopAttach := context.WithCancel(ctx)
	defer stopAttach()
	a.stopAttach = stopAttach
	watchCtx, stopWatching := context.WithCancel(attachCtx)
	defer stopWatching()
	a.stopWatch = stopWatching
	if a.o.watch {
		stopWatch := startUpWatch(watchCtx, a.g, a.eng, a.p, a.services)
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
// returns, and aborts the up when the exit says so.
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
		a.abort()
	}
}

// abortGrace is how long following goes on once the abort's stop is done:
// the watched containers have stopped, so Attach ends well before; this
// bounds it where one of them cannot be stopped.
const abortGrace = 3 * time.Second

// abort stops the project in the background, as Compose does on an
// aborting exit: the containers' output, their pre_stop hooks' included,
// and their exits go on being printed until they have stopped.
func (a *attachedUp) abort() {
	fmt.Fprintf(a.g.stderr, "Aborting on container exit (%s)...\n", a.abortedBy)
	a.stopWatch()
	a.abortStopped = make(chan struct{})
	go func() {
		defer close(a.abortStopped)
		stopProject(a.g, a.eng, a.p, a.services, a.o, context.Background())
		time.AfterFunc(abortGrace, a.stopAttach)
	}()
}

// finish waits for an abort's stop, or stops the project after Ctrl-C
// (exit 130), and returns the up's exit code.
func (a *attachedUp) finish(ctx context.Context, aerr error) error {
	if a.abortedBy == "" && aerr != nil && ctx.Err() != nil {
		fmt.Fprintln(a.g.stderr, "Gracefully stopping... (press Ctrl+C again to force)")
		stopProject(a.g, a.eng, a.p, a.services, a.o, forceContext(ctx))
		return &exitCodeError{code: 130}
	}
	if a.abortedBy != "" {
		<-a.abortStopped
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

// hookRelay prints the output of the hooks the engine runs through an
// attached up's printer, for the attached services, once the up has one:
// before (and with up -d) it is dropped, as Compose shows hook output only
// to an attached up.
type hookRelay struct {
	mu       sync.Mutex
	pr       *logPrinter
	attached map[string]bool
}

// to starts the relay to pr.
func (h *hookRelay) to(pr *logPrinter, attached map[string]bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.pr, h.attached = pr, attached
}

// line relays one line of a hook run in c.
func (h *hookRelay) line(c *engine.Container, text string) {
	h.mu.Lock()
	pr, attached := h.pr, h.attached
	h.mu.Unlock()
	if pr != nil && attached[c.Service] {
		pr.hook(c, text)
	}
}

// hook prints a line of a hook run in c as Compose does, under the
// container's name and an arrow: "web-1 ->  | text".
func (p *logPrinter) hook(c *engine.Container, text string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.noPrefix {
		fmt.Fprintln(p.w, text)
		return
	}
	name := prefixOf(c.Service, c.Number, c.Name, c.Oneoff) + " ->"
	p.width = max(p.width, len(name))
	pre := fmt.Sprintf("%-*s  | ", p.width, name)
	if p.color {
		pre = "\x1b[" + p.colorOf(c.Service) + "m" + pre + "\x1b[0m"
	}
	fmt.Fprintf(p.w, "%s%s\n", pre, text)
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
