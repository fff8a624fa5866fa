package main

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/docker/go-units"

	"github.com/berth-dev/berth/engine"
)

// pullProgress shows image pull events like `docker compose pull`: on a
// terminal a live block (one line per service, one per layer with a bar),
// redrawn in place; elsewhere one plain line per status change.
type pullProgress struct {
	mu       sync.Mutex
	w        io.Writer
	tty      bool
	color    bool
	start    time.Time
	order    []string             // service labels, in display order
	labels   map[string]string    // image ref → service label
	items    map[string]*pullItem // service label → state
	drawn    int                  // lines drawn last time (tty)
	ticker   redrawTicker
	lastSeen map[string]engine.ImageStatus // plain mode: last status printed per line
}

type pullItem struct {
	status  string
	err     bool
	started time.Time
	ended   time.Time
	layers  []string
	layer   map[string]*engine.ImageEvent
}

func newPullProgress(w io.Writer, tty, color bool) *pullProgress {
	return &pullProgress{
		w: w, tty: tty, color: color, start: time.Now(),
		labels: map[string]string{}, items: map[string]*pullItem{}, lastSeen: map[string]engine.ImageStatus{},
	}
}

// add declares a pull of ref shown as label (the service names).
func (p *pullProgress) add(ref, label string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.labels[ref] = label
	p.order = append(p.order, label)
	p.items[label] = &pullItem{status: "Waiting", layer: map[string]*engine.ImageEvent{}}
}

// run starts redrawing (tty only); finish stops it.
func (p *pullProgress) run() {
	if p.tty {
		p.ticker.start(p.redraw)
	}
}

func (p *pullProgress) finish() { p.ticker.finish() }

// redrawTicker calls a tty progress display's redraw every 100 ms from
// start until finish, and once more at finish.
type redrawTicker struct{ stop, done chan struct{} }

func (r *redrawTicker) start(redraw func()) {
	r.stop, r.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(r.done)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-r.stop:
				redraw()
				return
			case <-t.C:
				redraw()
			}
		}
	}()
}

func (r *redrawTicker) finish() {
	if r.stop != nil {
		close(r.stop)
		<-r.done
		r.stop = nil
	}
}

// event receives the library's progress events.
func (p *pullProgress) event(e engine.ImageEvent) {
	p.mu.Lock()
	defer p.mu.Unlock()
	label, ok := p.labels[e.Image]
	if !ok {
		return
	}
	it := p.items[label]
	if e.Layer == "" {
		switch e.Status {
		case engine.ImageStatusResolving:
			it.status, it.started = "Pulling", time.Now()
		case engine.ImageStatusDone:
			it.status, it.ended = "Pulled", time.Now()
		}
		p.plain(label, "", string(it.status), e.Status)
		return
	}
	le := it.layer[e.Layer]
	if le == nil {
		ev := e
		le = &ev
		it.layer[e.Layer] = le
		it.layers = append(it.layers, e.Layer)
	}
	*le = e
	p.plain(label, e.Layer, string(e.Status), e.Status)
}

// fail marks a service's pull failed.
func (p *pullProgress) fail(ref string, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	label := p.labels[ref]
	if it := p.items[label]; it != nil {
		it.status, it.err, it.ended = "Error", true, time.Now()
	}
	if !p.tty {
		fmt.Fprintf(p.w, " %s Error: %v\n", label, err)
	}
}

// skip shows a service that is not pulled and why.
func (p *pullProgress) skip(label, why string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty {
		p.order = append(p.order, label)
		p.items[label] = &pullItem{status: "Skipped " + why, layer: map[string]*engine.ImageEvent{}}
		return
	}
	fmt.Fprintf(p.w, " %s Skipped %s\n", label, why)
}

// plain prints a line when a status changes (non-tty only).
func (p *pullProgress) plain(label, layer, text string, st engine.ImageStatus) {
	if p.tty {
		return
	}
	key := label + " " + layer
	if p.lastSeen[key] == st {
		return
	}
	p.lastSeen[key] = st
	if layer == "" {
		fmt.Fprintf(p.w, " %s %s\n", label, text)
		return
	}
	fmt.Fprintf(p.w, " %s %s %s\n", label, layer, text)
}

func (p *pullProgress) redraw() {
	p.mu.Lock()
	defer p.mu.Unlock()
	var b strings.Builder
	if p.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", p.drawn)
	}
	lines := p.lines()
	for _, l := range lines {
		b.WriteString("\x1b[2K")
		b.WriteString(l)
		b.WriteByte('\n')
	}
	p.drawn = len(lines)
	io.WriteString(p.w, b.String())
}

func (p *pullProgress) lines() []string {
	done := 0
	for _, l := range p.order {
		if it := p.items[l]; it.status == "Pulled" || strings.HasPrefix(it.status, "Skipped") {
			done++
		}
	}
	out := []string{fmt.Sprintf("[+] Pulling %d/%d", done, len(p.order))}
	for _, label := range p.order {
		it := p.items[label]
		mark := spinner(time.Since(p.start))
		switch {
		case it.err:
			mark = p.paint("31", "✘")
		case it.status == "Pulled" || strings.HasPrefix(it.status, "Skipped"):
			mark = p.paint("32", "✔")
		}
		line := fmt.Sprintf(" %s %s %s", mark, label, it.status)
		if !it.started.IsZero() {
			end := it.ended
			if end.IsZero() {
				end = time.Now()
			}
			line += fmt.Sprintf(" %.1fs", end.Sub(it.started).Seconds())
		}
		out = append(out, line)
		if it.status == "Pulled" && len(it.layers) > 6 {
			continue // keep the screen short once an image is done
		}
		for _, id := range it.layers {
			e := it.layer[id]
			lm := spinner(time.Since(p.start))
			switch e.Status {
			case engine.ImageStatusPullComplete, engine.ImageStatusAlreadyExists:
				lm = p.paint("32", "✔")
			case engine.ImageStatusFailed:
				lm = p.paint("31", "✘")
			}
			l := fmt.Sprintf("   %s %s %s", lm, id, e.Status)
			if e.Status == engine.ImageStatusDownloading && e.Total > 0 {
				l += " " + bar(e.Current, e.Total, 20) + " " + units.HumanSize(float64(e.Current)) + "/" + units.HumanSize(float64(e.Total))
			}
			out = append(out, l)
		}
	}
	return out
}

func (p *pullProgress) paint(code, s string) string {
	if !p.color {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

func spinner(d time.Duration) string {
	frames := []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}
	return frames[int(d/(100*time.Millisecond))%len(frames)]
}

func bar(cur, total int64, width int) string {
	if total <= 0 {
		return ""
	}
	n := int(cur * int64(width) / total)
	n = min(max(n, 0), width)
	arrow := ""
	if n < width {
		arrow = ">"
		if n > 0 {
			n--
		}
	}
	return "[" + strings.Repeat("=", n) + arrow + strings.Repeat(" ", width-n-len(arrow)) + "]"
}
