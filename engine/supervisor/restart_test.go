package supervisor

import (
	"testing"
	"time"
)

func TestPolicy(t *testing.T) {
	cases := []struct {
		in                 string
		ok                 bool
		code, restarts     int
		stopped, restarts2 bool
	}{
		{in: "no", ok: true, code: 1},
		{in: "always", ok: true, code: 0, restarts2: true},
		{in: "always", ok: true, code: 0, stopped: true},
		{in: "unless-stopped", ok: true, code: 3, restarts2: true},
		{in: "on-failure", ok: true, code: 0},
		{in: "on-failure", ok: true, code: 1, restarts: 100, restarts2: true},
		{in: "on-failure:2", ok: true, code: 1, restarts: 1, restarts2: true},
		{in: "on-failure:2", ok: true, code: 1, restarts: 2},
		{in: "sometimes", ok: false},
		{in: "on-failure:x", ok: false},
	}
	for _, c := range cases {
		p, ok := ParsePolicy(c.in)
		if ok != c.ok {
			t.Errorf("ParsePolicy(%q) ok = %v", c.in, ok)
			continue
		}
		if !ok {
			continue
		}
		if got := p.ShouldRestart(c.code, c.restarts, c.stopped); got != c.restarts2 {
			t.Errorf("%s code %d restarts %d stopped %v: restart = %v", c.in, c.code, c.restarts, c.stopped, got)
		}
	}
}

func TestBackoff(t *testing.T) {
	var b Backoff
	want := []time.Duration{100, 200, 400, 800}
	for i, w := range want {
		if got := b.Next(time.Second); got != w*time.Millisecond {
			t.Errorf("restart %d: %v, want %v", i, got, w*time.Millisecond)
		}
	}
	if got := b.Next(11 * time.Second); got != 100*time.Millisecond {
		t.Errorf("after a long run: %v, want reset to 100ms", got)
	}
	for i := 0; i < 20; i++ {
		b.Next(0)
	}
	if got := b.Next(0); got != time.Minute {
		t.Errorf("cap: %v", got)
	}
}
