package main

import "testing"

func TestUpOptionsValidate(t *testing.T) {
	tests := []struct {
		name       string
		o          upOptions
		wantErr    string
		wantDetach bool
		wantAbort  bool
	}{
		{"plain", upOptions{}, "", false, false},
		{"exit-code-from implies abort", upOptions{exitCodeFrom: "web"}, "", false, true},
		{"exit-code-from with failure", upOptions{exitCodeFrom: "web", abortOnFail: true}, "", false, false},
		{"wait implies detach", upOptions{wait: true}, "", true, false},
		{"abort both", upOptions{abortOnExit: true, abortOnFail: true}, "--abort-on-container-failure cannot be combined with --abort-on-container-exit", false, true},
		{"wait attach", upOptions{wait: true, attach: []string{"web"}}, "--wait cannot be combined with --abort-on-container-exit, --attach or --attach-dependencies", false, false},
		{"wait exit-code-from", upOptions{wait: true, exitCodeFrom: "web"}, "--wait cannot be combined with --abort-on-container-exit, --attach or --attach-dependencies", false, true},
		{"watch wait", upOptions{watch: true, wait: true}, "--watch cannot be combined with --detach or --wait", true, false},
		{"watch detach", upOptions{watch: true, detach: true}, "--watch cannot be combined with --detach or --wait", true, false},
		{"detach abort", upOptions{detach: true, abortOnFail: true}, "--detach cannot be combined with --abort-on-container-exit, --abort-on-container-failure, --exit-code-from, --attach or --attach-dependencies", true, false},
		{"detach attach-deps", upOptions{detach: true, attachDeps: true}, "--detach cannot be combined with --abort-on-container-exit, --abort-on-container-failure, --exit-code-from, --attach or --attach-dependencies", true, false},
		{"attach both", upOptions{attach: []string{"a"}, attachDeps: true}, "cannot combine --attach and --attach-dependencies", false, false},
		{"recreate", upOptions{forceRecreate: true, noRecreate: true}, "--force-recreate and --no-recreate cannot be used together", false, false},
		{"build", upOptions{build: true, noBuild: true}, "--build and --no-build cannot be used together", false, false},
		{"recreate deps", upOptions{recreateDeps: true, noRecreate: true}, "--always-recreate-deps and --no-recreate cannot be used together", false, false},
		{"attach before pairs", upOptions{attach: []string{"a"}, attachDeps: true, build: true, noBuild: true}, "cannot combine --attach and --attach-dependencies", false, false},
		{"pull", upOptions{pull: "sometimes"}, `--pull "sometimes": want always, missing or never`, false, false},
		{"pull ok", upOptions{pull: "never"}, "", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.o
			err := o.validate()
			if errString(err) != tt.wantErr {
				t.Fatalf("err %v, want %q", err, tt.wantErr)
			}
			if o.detach != tt.wantDetach || o.abortOnExit != tt.wantAbort {
				t.Errorf("detach %v abortOnExit %v, want %v %v", o.detach, o.abortOnExit, tt.wantDetach, tt.wantAbort)
			}
		})
	}
}
