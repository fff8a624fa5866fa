package image

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestShouldPull(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	local := &Image{}
	tests := []struct {
		policy   string
		local    *Image
		lastPull time.Time
		want     bool
		wantErr  error
	}{
		{"", nil, time.Time{}, true, nil},
		{"", local, time.Time{}, false, nil},
		{"missing", nil, time.Time{}, true, nil},
		{"if_not_present", local, time.Time{}, false, nil},
		{"always", local, now, true, nil},
		{"never", local, time.Time{}, false, nil},
		{"never", nil, time.Time{}, false, ErrPullNever},
		{"build", nil, time.Time{}, false, nil},
		{"refresh", local, now, true, nil},
		{"daily", local, now.Add(-23 * time.Hour), false, nil},
		{"daily", local, now.Add(-25 * time.Hour), true, nil},
		{"daily", nil, now, true, nil},
		{"daily", local, time.Time{}, true, nil},
		{"weekly", local, now.Add(-6 * 24 * time.Hour), false, nil},
		{"weekly", local, now.Add(-8 * 24 * time.Hour), true, nil},
		{"every_12h", local, now.Add(-11 * time.Hour), false, nil},
		{"every_12h", local, now.Add(-13 * time.Hour), true, nil},
		{"every_2d", local, now.Add(-47 * time.Hour), false, nil},
		{"every_2d", local, now.Add(-49 * time.Hour), true, nil},
	}
	for _, tt := range tests {
		got, err := ShouldPull(tt.policy, tt.local, tt.lastPull, now)
		if !errors.Is(err, tt.wantErr) || got != tt.want {
			t.Errorf("ShouldPull(%q, local=%v, last=%v) = %v, %v; want %v, %v", tt.policy, tt.local != nil, tt.lastPull, got, err, tt.want, tt.wantErr)
		}
	}
	for _, bad := range []string{"sometimes", "every_", "every_x", "every_-1h"} {
		if _, err := ShouldPull(bad, nil, time.Time{}, now); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("ShouldPull(%q) error = %v, want one naming the policy", bad, err)
		}
	}
}

func TestServiceShouldPullNever(t *testing.T) {
	_, err := ServiceShouldPull("web", "nginx:1", "never", nil, time.Now())
	if !errors.Is(err, ErrPullNever) || !strings.Contains(err.Error(), `"web"`) || !strings.Contains(err.Error(), "nginx:1") {
		t.Fatalf("error = %v, want ErrPullNever naming service and image", err)
	}
	last := time.Now().Add(-time.Hour)
	pull, err := ServiceShouldPull("web", "nginx:1", "every_30m", &Image{LastPull: last}, time.Now())
	if err != nil || !pull {
		t.Fatalf("every_30m after 1h = %v, %v; want pull", pull, err)
	}
}
