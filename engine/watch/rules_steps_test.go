package watch

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
)

// Table tests for the steps of Compile.

func TestCheckAction(t *testing.T) {
	const where = `service "web": develop.watch[0]`
	bound := types.ServiceConfig{Name: "web"}
	bound.Volumes = []types.ServiceVolumeConfig{{Type: types.VolumeTypeBind, Source: "/src/app", Target: "/app"}}
	built := types.ServiceConfig{Name: "web"}
	built.Build = &types.BuildConfig{Context: "."}
	for _, tc := range []struct {
		name       string
		t          types.Trigger
		svc        types.ServiceConfig
		wantTarget string
		skip, err  string
	}{
		{name: "sync target made absolute", t: types.Trigger{Path: "/src/x", Action: types.WatchActionSync, Target: "app/./x/"}, wantTarget: "/app/x"},
		{name: "sync+restart target cleaned", t: types.Trigger{Path: "/src/x", Action: types.WatchActionSyncRestart, Target: "/app//x"}, wantTarget: "/app/x"},
		{name: "sync needs a target", t: types.Trigger{Path: "/src/x", Action: types.WatchActionSync},
			err: where + ": action sync needs a target (the path in the container)"},
		{name: "sync+exec needs a command", t: types.Trigger{Path: "/src/x", Action: types.WatchActionSyncExec, Target: "/x"},
			err: where + ": action sync+exec needs exec.command"},
		{name: "sync+exec with a command", t: types.Trigger{Path: "/src/x", Action: types.WatchActionSyncExec, Target: "/x", Exec: types.ServiceHook{Command: []string{"true"}}}, wantTarget: "/x"},
		{name: "bind-mounted path skipped", t: types.Trigger{Path: "/src/app/lib", Action: types.WatchActionSync, Target: "/app/lib"}, svc: bound, wantTarget: "/app/lib",
			skip: where + ": path /src/app/lib is also bind-mounted into the service; it is not watched"},
		{name: "beside a bind mount is watched", t: types.Trigger{Path: "/src/application", Action: types.WatchActionSync, Target: "/a"}, svc: bound, wantTarget: "/a"},
		{name: "rebuild needs build", t: types.Trigger{Path: "/src", Action: types.WatchActionRebuild},
			err: where + ": action rebuild needs a build section"},
		{name: "rebuild with build", t: types.Trigger{Path: "/src", Action: types.WatchActionRebuild}, svc: built},
		{name: "restart", t: types.Trigger{Path: "/src", Action: types.WatchActionRestart}},
		{name: "unknown", t: types.Trigger{Path: "/src", Action: "copy"},
			err: where + `: unknown action "copy" (want sync, rebuild, restart, sync+restart or sync+exec)`},
	} {
		tr := tc.t
		skip, err := checkAction(where, &tr, tc.svc)
		if gotErr := errText(err); gotErr != tc.err || skip != tc.skip {
			t.Errorf("%s: skip %q error %q; want %q %q", tc.name, skip, gotErr, tc.skip, tc.err)
		}
		if err == nil && tr.Target != tc.wantTarget {
			t.Errorf("%s: target %q, want %q", tc.name, tr.Target, tc.wantTarget)
		}
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestWatchPath(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "real"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("real", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ in, want string }{
		{"link", filepath.Join(real, "real")},
		{"./real/", filepath.Join(real, "real")},
		{"missing/../missing/x", filepath.Join(dir, "missing", "x")},
		{"/elsewhere//y/", "/elsewhere/y"},
	} {
		if got := watchPath(dir, tc.in); got != tc.want {
			t.Errorf("watchPath(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
