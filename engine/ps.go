package engine

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/docker/go-units"

	"github.com/berth-dev/berth/engine/state"
	"github.com/berth-dev/berth/network/portmap"
)

// Publisher is a published port, as `docker compose ps --format json`.
type Publisher struct {
	URL           string
	TargetPort    int
	PublishedPort int
	Protocol      string
}

// ContainerSummary is one line of `ps`, in docker compose's JSON shape.
type ContainerSummary struct {
	ID         string
	Name       string
	Names      []string
	Image      string
	Command    string
	Project    string
	Service    string
	Created    int64
	State      string
	Status     string
	Health     string
	ExitCode   int
	Publishers []Publisher
	Labels     map[string]string
	RunningFor string
	// Supervised is false when the state on disk says running but the
	// project's supervisor is gone (killed): the container is unwatched.
	Supervised bool `json:"-"`
}

// PsOptions select containers.
type PsOptions struct {
	Services []string
	All      bool // also stopped containers
	Oneoff   bool // also one-off (run) containers
}

// Ps lists a project's containers.
func (e *Engine) Ps(ctx context.Context, projectName string, o PsOptions) ([]ContainerSummary, error) {
	obs, err := e.observe(projectName)
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, s := range o.Services {
		want[s] = true
	}
	supAlive := -1
	var out []ContainerSummary
	now := time.Now()
	for _, c := range obs {
		if len(want) > 0 && !want[c.Service] {
			continue
		}
		if c.Oneoff && !o.Oneoff && !o.All {
			continue
		}
		st := c.State
		running := st.Status == state.StatusRunning || st.Status == state.StatusPaused || st.Status == state.StatusRestarting
		if !o.All && !running {
			continue
		}
		s := summarize(c.Container, st, now)
		s.Supervised = true
		if running {
			if supAlive < 0 {
				supAlive = 0
				if e.supervisor(projectName).Alive(ctx) {
					supAlive = 1
				}
			}
			if supAlive == 0 {
				s.Supervised = false
				s.Status += " (supervisor gone: run `berth up` to repair)"
			}
		}
		out = append(out, s)
	}
	return out, nil
}

func summarize(c *state.Container, st *state.RuntimeState, now time.Time) ContainerSummary {
	s := ContainerSummary{
		ID:       c.ID,
		Name:     c.Name,
		Names:    []string{c.Name},
		Image:    c.Image,
		Command:  quoteCommand(c.Command),
		Project:  c.Project,
		Service:  c.Service,
		Created:  c.Created.Unix(),
		State:    string(st.Status),
		Health:   st.Health,
		ExitCode: st.ExitCode,
		Labels:   c.Labels,
	}
	s.RunningFor = ago(now.Sub(c.Created))
	switch st.Status {
	case state.StatusRunning:
		s.Status = "Up " + units.HumanDuration(now.Sub(st.StartedAt))
		if st.Health != "" {
			s.Status += " (" + st.Health + ")"
		}
	case state.StatusPaused:
		s.Status = "Up " + units.HumanDuration(now.Sub(st.StartedAt)) + " (Paused)"
	case state.StatusRestarting:
		s.Status = fmt.Sprintf("Restarting (%d) %s", st.ExitCode, ago(now.Sub(st.FinishedAt)))
	case state.StatusExited:
		s.Status = fmt.Sprintf("Exited (%d) %s", st.ExitCode, ago(now.Sub(st.FinishedAt)))
	case state.StatusCreated:
		s.Status = "Created"
	default:
		s.Status = strings.ToUpper(string(st.Status[:1])) + string(st.Status[1:])
	}
	if running := st.Status == state.StatusRunning || st.Status == state.StatusPaused || st.Status == state.StatusRestarting; running {
		// as docker: a stopped container shows no ports
		s.Publishers = Publishers(c)
	}
	return s
}

// Publishers are a container's published and exposed-only ports in
// docker compose's shape (URL "" for an exposed-only port), in Docker's
// order.
func Publishers(c *state.Container) []Publisher {
	var out []Publisher
	for _, b := range portmap.Merge(c.Ports, c.Exposed) {
		p := Publisher{TargetPort: int(b.ContainerPort), PublishedPort: int(b.HostPort), Protocol: string(b.Protocol)}
		if b.Published() {
			p.URL = b.HostAddr()
		}
		out = append(out, p)
	}
	return out
}

// Bindings turns Publishers back into the port model, for the formatter
// (portmap.Display).
func Bindings(ps []Publisher) []portmap.Binding {
	var out []portmap.Binding
	for _, p := range ps {
		b := portmap.Binding{ContainerPort: uint16(p.TargetPort), HostPort: uint16(p.PublishedPort), Protocol: portmap.Proto(p.Protocol)}
		if ip, err := netip.ParseAddr(p.URL); err == nil && !ip.IsUnspecified() {
			b.HostIP = ip
		}
		out = append(out, b)
	}
	return out
}

func quoteCommand(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\"'") {
			a = fmt.Sprintf("%q", a)
		}
		q[i] = a
	}
	return `"` + strings.ReplaceAll(strings.Join(q, " "), `"`, `\"`) + `"`
}

// ago words how long ago something happened as Docker's ps does
// ("About a minute ago", "3 weeks ago").
func ago(d time.Duration) string { return units.HumanDuration(d) + " ago" }
