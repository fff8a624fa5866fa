package engine

import (
	"testing"
	"time"

	"github.com/berth-dev/berth/engine/state"
)

// TestSummarizeStatusWords checks ps's STATUS and RUNNING FOR columns word
// durations as Docker's ps does (go-units' HumanDuration): weeks, not
// "21 days".
func TestSummarizeStatusWords(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		status      state.Status
		since       time.Duration
		want, want2 string
	}{
		{state.StatusRunning, 500 * time.Millisecond, "Up Less than a second", "Less than a second ago"},
		{state.StatusRunning, 90 * time.Second, "Up About a minute", "About a minute ago"},
		{state.StatusPaused, 3 * time.Hour, "Up 3 hours (Paused)", "3 hours ago"},
		{state.StatusRunning, 21 * 24 * time.Hour, "Up 3 weeks", "3 weeks ago"},
		{state.StatusExited, 10 * 24 * time.Hour, "Exited (2) 10 days ago", "10 days ago"},
		{state.StatusExited, 90 * 24 * time.Hour, "Exited (2) 3 months ago", "3 months ago"},
	} {
		at := now.Add(-tc.since)
		c := &state.Container{ID: "c1", Name: "p-a-1", Created: at}
		st := &state.RuntimeState{Status: tc.status, StartedAt: at, FinishedAt: at, ExitCode: 2}
		s := summarize(c, st, now)
		if s.Status != tc.want || s.RunningFor != tc.want2 {
			t.Errorf("%s %v: Status %q, RunningFor %q; want %q, %q", tc.status, tc.since, s.Status, s.RunningFor, tc.want, tc.want2)
		}
	}
}
