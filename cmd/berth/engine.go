package main

import (
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/berth-dev/berth/engine"
	"github.com/berth-dev/berth/internal/layout"
)

// newEngine opens the engine on berth's state root and run dir, with
// progress lines on stderr like docker compose's plain progress.
func (g *globalOptions) newEngine(extra ...engine.Opt) (*engine.Engine, error) {
	out := g.statusOut()
	mode := g.progressMode()
	if mode == "quiet" {
		out = io.Discard
	}
	p := &progressPrinter{w: out, color: g.colorEnabledOn(out)}
	opts := []engine.Opt{
		engine.WithRuntime(os.Getenv("BERTH_RUNTIME")),
		engine.WithProgress(p.event),
		engine.WithOutput(g.stdout, g.stderr),
		engine.WithBuildProgress(newBuildPrinter(g.stderr, g.noColor, mode).serviceStep),
		engine.WithCompatibility(g.compatibility),
	}
	if mode == "quiet" {
		opts = append(opts, engine.WithBuildProgress(nil))
	}
	l := layout.FromEnv()
	return engine.New(l.Root, l.Run, append(opts, extra...)...)
}

// colorEnabledOn reports whether output to w may use colours: never with
// --no-color, NO_COLOR or COMPOSE_ANSI=never, always with
// COMPOSE_ANSI=always, else when w is a terminal.
func (g *globalOptions) colorEnabledOn(w io.Writer) bool {
	if g.noColor || os.Getenv("NO_COLOR") != "" {
		return false
	}
	ansi := g.ansi
	if ansi == "" {
		ansi = os.Getenv(envANSI)
	}
	switch ansi {
	case "never":
		return false
	case "always":
		return true
	}
	f, ok := w.(*os.File)
	return ok && isTerminal(f)
}

type progressPrinter struct {
	mu    sync.Mutex
	w     io.Writer
	color bool
}

func (p *progressPrinter) event(e engine.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	mark := " "
	switch e.Status {
	case "Started", "Created", "Recreated", "Running", "Stopped", "Removed", "Pulled", "Built", "Killed", "Paused", "Unpaused":
		mark = "✔"
		if p.color {
			mark = "\x1b[32m✔\x1b[0m"
		}
	case "Error":
		mark = "✘"
	case "Warning", "Orphan":
		mark = "!"
	}
	line := fmt.Sprintf(" %s %s %s  %s", mark, e.Kind, e.Name, e.Status)
	if e.Text != "" {
		line += ": " + e.Text
	}
	if e.Err != nil {
		line += ": " + e.Err.Error()
	}
	fmt.Fprintln(p.w, line)
}
