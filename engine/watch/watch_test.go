package watch

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
)

func write(t *testing.T, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func project(dir string, svcs ...types.ServiceConfig) *types.Project {
	p := &types.Project{Name: "p", WorkingDir: dir, Services: types.Services{}}
	for _, s := range svcs {
		p.Services[s.Name] = s
	}
	return p
}

func compile(t *testing.T, p *types.Project) []Rule {
	t.Helper()
	var rules []Rule
	for _, s := range p.Services {
		rs, _, err := Compile(p, s)
		if err != nil {
			t.Fatal(err)
		}
		rules = append(rules, rs...)
	}
	return rules
}

func plan(batch []string, rules []Rule) string {
	var out []string
	for _, a := range Plan(batch, rules) {
		out = append(out, a.String())
	}
	return strings.Join(out, "\n")
}

// TestPlanPrecedence: every matching rule applies; rebuild, sync,
// restart, exec once per batch; ignore, include, .dockerignore and
// editors' files are left out.
func TestPlanPrecedence(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, ".dockerignore"), "src/*.secret\n")
	for _, f := range []string{"src/a.js", "src/b.js", "src/c.css", "src/k.secret", "src/.a.js.swp", "src/node_modules/x.js", "conf/n.conf", "package.json"} {
		write(t, filepath.Join(dir, f), "x")
	}
	web := types.ServiceConfig{Name: "web", Develop: &types.DevelopConfig{Watch: []types.Trigger{
		{Path: "src", Target: "/app/src", Action: types.WatchActionSyncExec, Ignore: []string{"node_modules/"}, Exec: types.ServiceHook{Command: []string{"kill", "-HUP", "1"}}},
		{Path: "src", Target: "/css", Action: types.WatchActionSync, Include: []string{"*.css"}},
		{Path: "conf", Target: "/etc/app", Action: types.WatchActionSyncRestart},
		{Path: "package.json", Action: types.WatchActionRebuild},
	}}}
	web.Build = &types.BuildConfig{Context: dir}
	rules := compile(t, project(dir, web))
	abs := func(rel ...string) []string {
		var out []string
		for _, r := range rel {
			out = append(out, filepath.Join(dir, r))
		}
		return out
	}
	for _, c := range []struct {
		batch []string
		want  string
	}{
		{abs("src/a.js", "src/b.js"), `web: sync /app/src/a.js,/app/src/b.js; exec "kill -HUP 1"`},
		{abs("src/c.css"), `web: sync /app/src/c.css,/css/c.css; exec "kill -HUP 1"`},
		{abs("src/k.secret", "src/.a.js.swp", "src/node_modules/x.js"), ``},
		{abs("conf/n.conf", "src/a.js"), `web: sync /etc/app/n.conf,/app/src/a.js; restart; exec "kill -HUP 1"`},
		{abs("package.json", "conf/n.conf"), `web: rebuild; sync /etc/app/n.conf; restart`},
		{abs("src/gone.js"), `web: sync /app/src/gone.js; exec "kill -HUP 1"`},
	} {
		if got := plan(c.batch, rules); got != c.want {
			t.Errorf("batch %v:\n got %s\nwant %s", c.batch, got, c.want)
		}
	}
	// a directory stands for what it holds, filtered by the rule
	if got := plan(abs("src"), rules[:1]); got != `web: sync /app/src,/app/src/a.js,/app/src/b.js,/app/src/c.css; exec "kill -HUP 1"` {
		t.Errorf("directory batch: %s", got)
	}
}

// TestCompileErrors: what Compose refuses, with the rule named.
func TestCompileErrors(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		tr   types.Trigger
		svc  types.ServiceConfig
		want string
	}{
		{types.Trigger{Path: "x", Action: types.WatchActionSync}, types.ServiceConfig{}, "needs a target"},
		{types.Trigger{Path: "x", Action: types.WatchActionRebuild}, types.ServiceConfig{}, "needs a build section"},
		{types.Trigger{Path: "x", Target: "/x", Action: types.WatchActionSyncExec}, types.ServiceConfig{}, "exec.command"},
		{types.Trigger{Path: "x", Action: "frob"}, types.ServiceConfig{}, "unknown action"},
	} {
		c.svc.Name = "web"
		c.svc.Develop = &types.DevelopConfig{Watch: []types.Trigger{c.tr}}
		_, _, err := Compile(project(dir, c.svc), c.svc)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), `service "web": develop.watch[0]`) {
			t.Errorf("%+v: %v, want %q", c.tr, err, c.want)
		}
	}
	// a bind-mounted path is skipped with a warning
	svc := types.ServiceConfig{Name: "web", Develop: &types.DevelopConfig{Watch: []types.Trigger{{Path: dir, Target: "/app", Action: types.WatchActionSync}}}}
	svc.Volumes = []types.ServiceVolumeConfig{{Type: types.VolumeTypeBind, Source: dir, Target: "/app"}}
	rules, warnings, err := Compile(project(dir, svc), svc)
	if err != nil || len(rules) != 0 || len(warnings) != 1 || !strings.Contains(warnings[0], "bind-mounted") {
		t.Errorf("bind-mounted path: %v %v %v", rules, warnings, err)
	}
}

// TestBatchBurst: a lone change is flushed after the short quiet period;
// a burst is one batch; the ceiling bounds a writer that never stops. It
// runs in a synctest bubble: the timers are fake, the durations exact.
func TestBatchBurst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := BatchOptions{Quiet: 20 * time.Millisecond, BurstQuiet: 200 * time.Millisecond, BurstSize: 3, Ceiling: time.Second}
		in := make(chan string)
		out := Batch(t.Context(), in, o)
		start := time.Now()
		in <- "a"
		in <- "a"
		if b := <-out; len(b) != 1 || b[0] != "a" {
			t.Errorf("lone change: %v", b)
		}
		if d := time.Since(start); d != o.Quiet {
			t.Errorf("lone change flushed after %s, want the quiet period %s", d, o.Quiet)
		}
		for i := range 200 {
			in <- string(rune('a'+i%26)) + string(rune('a'+i/26))
			if i%50 == 49 {
				time.Sleep(40 * time.Millisecond) // longer than Quiet: still one batch
			}
		}
		start = time.Now()
		if b := <-out; len(b) != 200 {
			t.Errorf("burst: a batch of %d, want 200", len(b))
		}
		if d := time.Since(start); d != o.BurstQuiet-40*time.Millisecond {
			t.Errorf("burst flushed %s after its last event, want BurstQuiet %s", d+40*time.Millisecond, o.BurstQuiet)
		}
		stop, stopped := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(stopped)
			for {
				select {
				case <-stop:
					return
				case in <- "x" + time.Now().String():
					time.Sleep(5 * time.Millisecond)
				}
			}
		}()
		synctest.Wait() // the writer's first event is in
		start = time.Now()
		<-out
		d := time.Since(start)
		close(stop)
		<-stopped
		if d != o.Ceiling {
			t.Errorf("a writer that never stops got its first batch after %s, want the %s ceiling", d, o.Ceiling)
		}
	})
}

// TestWatchLimitError: a tree with more directories than the limit fails
// before anything is watched, naming the sysctl and the value needed.
func TestWatchLimitError(t *testing.T) {
	dir := t.TempDir()
	for i := range 20 {
		os.MkdirAll(filepath.Join(dir, "d", string(rune('a'+i))), 0o755)
	}
	limit := filepath.Join(t.TempDir(), "max_user_watches")
	write(t, limit, "10\n")
	old, oldNS := maxWatchesFile, nsWatchesFile
	maxWatchesFile, nsWatchesFile = limit, filepath.Join(t.TempDir(), "none")
	defer func() { maxWatchesFile, nsWatchesFile = old, oldNS }()
	_, err := Watch([]string{dir}, nil)
	var le *LimitError
	if !errors.As(err, &le) || !errors.Is(err, ErrWatchLimit) || le.Dirs != 22 {
		t.Fatalf("Watch: %v, want a LimitError for 22 dirs", err)
	}
	for _, want := range []string{"fs.inotify.max_user_watches", "is 10", "needs 22", "sysctl -w fs.inotify.max_user_watches="} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}

// TestNotifierRecursive: changes deep in the tree, in directories made
// after the start, and removals are reported; wholly ignored
// directories are not watched.
func TestNotifierRecursive(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "a/b/c.txt"), "x")
	write(t, filepath.Join(dir, "skip/x.txt"), "x")
	n, err := Watch([]string{dir}, func(d string) bool { return filepath.Base(d) == "skip" })
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if n.Dirs() != 3 {
		t.Errorf("watching %d dirs, want 3 (root, a, a/b)", n.Dirs())
	}
	expect := func(p string) {
		t.Helper()
		timeout := time.After(5 * time.Second)
		for {
			select {
			case got := <-n.Events():
				if got == p {
					return
				}
			case <-timeout:
				t.Fatalf("no event for %s", p)
			}
		}
	}
	write(t, filepath.Join(dir, "a/b/c.txt"), "y")
	expect(filepath.Join(dir, "a/b/c.txt"))
	os.MkdirAll(filepath.Join(dir, "new/deep"), 0o755)
	expect(filepath.Join(dir, "new")) // sent once new/ and new/deep are watched
	write(t, filepath.Join(dir, "new/deep/f.txt"), "z")
	expect(filepath.Join(dir, "new/deep/f.txt"))
	os.Remove(filepath.Join(dir, "a/b/c.txt"))
	expect(filepath.Join(dir, "a/b/c.txt"))
}
