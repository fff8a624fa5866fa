package engine

import (
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/engine/image"
)

func TestBuildStep(t *testing.T) {
	here := &image.Image{} // only its presence matters
	plain := service("app", func(s *types.ServiceConfig) { s.Build = &types.BuildConfig{Context: "."} })
	always := service("app", func(s *types.ServiceConfig) {
		s.Build = &types.BuildConfig{Context: "."}
		s.PullPolicy = image.PolicyBuild
	})
	tests := []struct {
		name    string
		svc     types.ServiceConfig
		img     *image.Image
		build   string
		reason  string // "" for no build
		wantErr string
	}{
		{"missing", plain, nil, BuildMissing, "not built yet", ""},
		{"present", plain, here, BuildMissing, "", ""},
		{"--build", plain, here, BuildAlways, "--build", ""},
		{"--build, missing", plain, nil, BuildAlways, "--build", ""},
		{"pull_policy: build", always, here, BuildMissing, "pull_policy: build", ""},
		{"--no-build, present", always, here, BuildNever, "", ""},
		{"--no-build, missing", plain, nil, BuildNever, "", "is not built (--no-build): run `berth build app` first"},
	}
	for _, tc := range tests {
		step, err := buildStep("app", "shop-app", tc.svc, tc.img, imagePolicy{build: tc.build})
		switch {
		case tc.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: err %v, want %q", tc.name, err, tc.wantErr)
			}
		case err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.reason == "" && step != nil:
			t.Errorf("%s: %v, want no build", tc.name, step)
		case tc.reason != "" && (step == nil || step.Reason != tc.reason || step.Action != "build" || step.Ref != "shop-app"):
			t.Errorf("%s: %+v, want a build for %q", tc.name, step, tc.reason)
		}
	}
}

func TestPullReason(t *testing.T) {
	here := &image.Image{}
	for _, tc := range []struct {
		img    *image.Image
		policy string
		ip     imagePolicy
		want   string
	}{
		{nil, image.PolicyAlways, imagePolicy{pull: "always"}, "missing"},
		{here, image.PolicyAlways, imagePolicy{}, "pull_policy: always"},
		{here, image.PolicyAlways, imagePolicy{pull: "always"}, "--pull always"},
	} {
		if got := pullReason(tc.img, tc.policy, tc.ip); got != tc.want {
			t.Errorf("pullReason(%v, %q, %+v) = %q, want %q", tc.img != nil, tc.policy, tc.ip, got, tc.want)
		}
	}
}
