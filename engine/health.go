package engine

import (
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/berth-dev/berth/engine/state"
	"github.com/berth-dev/berth/engine/supervisor"
)

// healthConfig merges a service's healthcheck with its image's HEALTHCHECK
// as Docker does: the service's test replaces the image's, each timing
// field the service leaves unset (or zero) comes from the image, then
// from Docker's defaults (supervisor.DefaultHealth*). It returns nil when
// there is no healthcheck: none anywhere, `disable: true`, or a test of
// ["NONE"] (which also turns off the image's). img may be nil;
// imgStartInterval is the image's --start-interval (go-containerregistry's
// config type has no field for it).
func healthConfig(svc types.ServiceConfig, img *v1.ConfigFile, imgStartInterval time.Duration) *state.HealthConfig {
	var base v1.HealthConfig
	if img != nil && img.Config.Healthcheck != nil {
		base = *img.Config.Healthcheck
	}
	hc := &state.HealthConfig{
		Test:        base.Test,
		Interval:    base.Interval,
		Timeout:     base.Timeout,
		StartPeriod: base.StartPeriod,
		Retries:     base.Retries,
	}
	if img != nil && img.Config.Healthcheck != nil {
		hc.StartInterval = imgStartInterval
	}
	if c := svc.HealthCheck; c != nil {
		if c.Disable {
			return nil
		}
		if len(c.Test) > 0 {
			hc.Test = c.Test
		}
		setDuration(&hc.Interval, c.Interval)
		setDuration(&hc.Timeout, c.Timeout)
		setDuration(&hc.StartPeriod, c.StartPeriod)
		setDuration(&hc.StartInterval, c.StartInterval)
		if c.Retries != nil && *c.Retries > 0 {
			hc.Retries = int(*c.Retries)
		}
	}
	if len(hc.Test) == 0 {
		return nil
	}
	switch hc.Test[0] {
	case "CMD", "CMD-SHELL":
		if len(hc.Test) < 2 {
			return nil
		}
	default:
		// "NONE", or a kind Docker does not know (and ignores).
		return nil
	}
	hc.Test = append([]string(nil), hc.Test...)
	if hc.Interval <= 0 {
		hc.Interval = supervisor.DefaultHealthInterval
	}
	if hc.Timeout <= 0 {
		hc.Timeout = supervisor.DefaultHealthTimeout
	}
	if hc.StartPeriod < 0 {
		hc.StartPeriod = 0
	}
	if hc.StartInterval <= 0 {
		hc.StartInterval = supervisor.DefaultHealthStartInterval
	}
	if hc.Retries <= 0 {
		hc.Retries = supervisor.DefaultHealthRetries
	}
	return hc
}

func setDuration(dst *time.Duration, d *types.Duration) {
	if d != nil && *d > 0 {
		*dst = time.Duration(*d)
	}
}
