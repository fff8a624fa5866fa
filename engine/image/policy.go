package image

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/xhit/go-str2duration/v2"
)

// ErrPullNever is wrapped when pull_policy: never meets a missing image.
var ErrPullNever = errors.New("image is missing and pull_policy is never")

// Compose pull_policy values.
const (
	PolicyAlways       = "always"
	PolicyMissing      = "missing"
	PolicyIfNotPresent = "if_not_present"
	PolicyNever        = "never"
	PolicyBuild        = "build"
	PolicyRefresh      = "refresh"
	PolicyDaily        = "daily"
	PolicyWeekly       = "weekly"
)

// Policy is a parsed pull_policy.
type Policy struct {
	Kind  string        // always, missing, never, build or refresh
	Every time.Duration // refresh only: pull when the last pull is older (0: always check)
}

// ParsePolicy parses a compose pull_policy ("" is missing).
func ParsePolicy(s string) (Policy, error) {
	switch s {
	case "", PolicyMissing, PolicyIfNotPresent:
		return Policy{Kind: PolicyMissing}, nil
	case PolicyAlways, PolicyNever, PolicyBuild, PolicyRefresh:
		return Policy{Kind: s}, nil
	case PolicyDaily:
		return Policy{Kind: PolicyRefresh, Every: 24 * time.Hour}, nil
	case PolicyWeekly:
		return Policy{Kind: PolicyRefresh, Every: 7 * 24 * time.Hour}, nil
	}
	if d, ok := strings.CutPrefix(s, "every_"); ok {
		dur, err := str2duration.ParseDuration(d)
		if err != nil || dur <= 0 {
			return Policy{}, fmt.Errorf("invalid pull_policy %q: every_ needs a positive duration like every_12h or every_2d", s)
		}
		return Policy{Kind: PolicyRefresh, Every: dur}, nil
	}
	return Policy{}, fmt.Errorf("invalid pull_policy %q (want always, missing, if_not_present, never, build, daily, weekly or every_<duration>)", s)
}

// ShouldPull decides whether to pull under the policy: local is the image
// in the store (nil when missing), lastPull when its name was last pulled.
// build never pulls (the caller builds); never with no local image is
// ErrPullNever.
func ShouldPull(policy string, local *Image, lastPull, now time.Time) (bool, error) {
	p, err := ParsePolicy(policy)
	if err != nil {
		return false, err
	}
	return p.ShouldPull(local, lastPull, now)
}

// ShouldPull is the method form of ShouldPull.
func (p Policy) ShouldPull(local *Image, lastPull, now time.Time) (bool, error) {
	switch p.Kind {
	case PolicyAlways:
		return true, nil
	case PolicyNever:
		if local == nil {
			return false, ErrPullNever
		}
		return false, nil
	case PolicyBuild:
		return false, nil
	case PolicyRefresh:
		return local == nil || p.Every == 0 || lastPull.IsZero() || now.Sub(lastPull) >= p.Every, nil
	default: // missing
		return local == nil, nil
	}
}

// ServiceShouldPull is ShouldPull for a compose service, with errors that
// name the service and its image.
func ServiceShouldPull(service, ref, policy string, local *Image, now time.Time) (bool, error) {
	var last time.Time
	if local != nil {
		last = local.LastPull
	}
	pull, err := ShouldPull(policy, local, last, now)
	if errors.Is(err, ErrPullNever) {
		return false, fmt.Errorf("service %q: image %s: %w (load it with `berth image load`, or change pull_policy)", service, ref, err)
	}
	if err != nil {
		return false, fmt.Errorf("service %q: %w", service, err)
	}
	return pull, nil
}
