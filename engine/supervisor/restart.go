package supervisor

import (
	"strconv"
	"strings"
	"time"
)

// Policy is a parsed compose `restart:` value.
type Policy struct {
	Name       string // no, always, on-failure, unless-stopped
	MaxRetries int    // on-failure:N; 0 = unlimited
}

// ParsePolicy reads `no`, `always`, `on-failure[:N]`, `unless-stopped`.
func ParsePolicy(s string) (Policy, bool) {
	name, n, hasN := strings.Cut(s, ":")
	switch name {
	case "", "no":
		return Policy{Name: "no"}, !hasN
	case "always", "unless-stopped":
		return Policy{Name: name}, !hasN
	case "on-failure":
		p := Policy{Name: name}
		if hasN {
			v, err := strconv.Atoi(n)
			if err != nil || v < 0 {
				return p, false
			}
			p.MaxRetries = v
		}
		return p, true
	}
	return Policy{Name: "no"}, false
}

// ShouldRestart says whether a container that exited with code, after
// restarts earlier restarts, is to be started again. A container stopped
// by the user never is (Docker's "manually stopped").
func (p Policy) ShouldRestart(code, restarts int, stoppedByUser bool) bool {
	if stoppedByUser {
		return false
	}
	switch p.Name {
	case "always", "unless-stopped":
		return true
	case "on-failure":
		return code != 0 && (p.MaxRetries == 0 || restarts < p.MaxRetries)
	}
	return false
}

// Backoff is Docker's restart delay: 100 ms, doubling with each restart
// in a row, at most a minute; reset once a run lasted 10 s.
type Backoff struct {
	delay time.Duration
}

// Next returns the delay before the next restart of a container that ran
// for ran.
func (b *Backoff) Next(ran time.Duration) time.Duration {
	switch {
	case ran >= 10*time.Second || b.delay == 0:
		b.delay = 100 * time.Millisecond
	default:
		b.delay *= 2
		if b.delay > time.Minute {
			b.delay = time.Minute
		}
	}
	return b.delay
}
