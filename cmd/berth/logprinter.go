package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/berth-dev/berth/engine"
)

// logPrinter prints container output as `service-N  | text`, the prefix
// padded to the longest and coloured per service (stable across runs).
type logPrinter struct {
	mu         sync.Mutex
	w          io.Writer
	errw       io.Writer // containers' stderr lines; nil: w
	color      bool
	timestamps bool
	noPrefix   bool
	width      int
	colors     map[string]string
}

var palette = []string{"36", "33", "32", "35", "34", "96", "93", "92", "95", "94"}

func newLogPrinter(g *globalOptions, cs []*engine.Container, timestamps, noPrefix bool) *logPrinter {
	p := &logPrinter{w: g.stdout, color: g.colorEnabled(), timestamps: timestamps, noPrefix: noPrefix, colors: map[string]string{}}
	for _, c := range cs {
		if n := len(prefixOf(c.Service, c.Number, c.Name, c.Oneoff)); n > p.width {
			p.width = n
		}
	}
	return p
}

func prefixOf(service string, number int, name string, oneoff bool) string {
	if oneoff {
		return name
	}
	return service + "-" + strconv.Itoa(number)
}

func (p *logPrinter) colorOf(service string) string {
	if c, ok := p.colors[service]; ok {
		return c
	}
	// stable: a hash of the service name picks the colour
	h := 0
	for _, r := range service {
		h = h*31 + int(r)
	}
	if h < 0 {
		h = -h
	}
	c := palette[h%len(palette)]
	p.colors[service] = c
	return c
}

func (p *logPrinter) prefix(service string, number int) string {
	if p.noPrefix {
		return ""
	}
	name := service + "-" + strconv.Itoa(number)
	if n := len(name); n > p.width {
		p.width = n
	}
	pre := fmt.Sprintf("%-*s  | ", p.width, name)
	if p.color {
		return "\x1b[" + p.colorOf(service) + "m" + pre + "\x1b[0m"
	}
	return pre
}

// splitStreams makes the printer write containers' stderr lines to
// stderr, as an attached docker compose up does (logs merges them).
func (p *logPrinter) splitStreams(stderr io.Writer) { p.errw = stderr }

func (p *logPrinter) line(l engine.LogLine) {
	p.mu.Lock()
	defer p.mu.Unlock()
	text := strings.TrimSuffix(l.Log, "\n")
	ts := ""
	if p.timestamps {
		ts = l.Time.Local().Format(time.RFC3339Nano) + " "
	}
	w := p.w
	if p.errw != nil && l.Stream == "stderr" {
		w = p.errw
	}
	fmt.Fprintf(w, "%s%s%s\n", p.prefix(l.Service, l.Number), ts, text)
}

// status prints a line about a container itself, as Compose does:
// "web-1 exited with code 0", without the log prefix's bar.
func (p *logPrinter) status(c *engine.Container, msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	line := c.Service + "-" + strconv.Itoa(c.Number) + " " + msg
	if p.color {
		line = "\x1b[" + p.colorOf(c.Service) + "m" + line + "\x1b[0m"
	}
	fmt.Fprintln(p.w, line)
}
