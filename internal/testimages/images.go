package testimages

import (
	"archive/tar"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// BusyboxPath is where Debian's busybox-static puts its binary.
const BusyboxPath = "/bin/busybox"

// DefaultPath is the PATH of every test image.
const DefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// MarkerPath is the file the busybox image's second layer adds.
const MarkerPath = "/etc/berth-testimage"

// ErrNoBusybox says the host lacks the static busybox the images are made from.
var ErrNoBusybox = errors.New("static busybox not found: install the busybox-static package (scripts/install-deps.sh does)")

// The names Standard uses.
const (
	BusyboxName  = "busybox:latest"
	HTTPEchoName = "httpecho:latest"
	TCPEchoName  = "tcpecho:latest"
	LoggerName   = "logger:latest"
)

// Ports the programs listen on by default, as the images expose them.
const (
	HTTPEchoPort = 8080
	TCPEchoPort  = 9000
)

var busybox = sync.OnceValues(func() (v1.Image, error) { return busyboxFrom(BusyboxPath) })

// Busybox returns the base test image (linux/amd64, Cmd ["sh"]), built once
// per process:
//
//	layer 1: /bin/busybox (the host's busybox-static) and a symlink in /bin
//	         for every applet it lists; /etc/passwd with root, nobody and
//	         app (1000:1000), /etc/group (app is also in "users", gid 100),
//	         empty /etc/hosts and /etc/resolv.conf, /tmp (1777), /root,
//	         /home/app, /var, /dev, /proc, /sys, /run
//	layer 2: MarkerPath, a small text file (so the image has two layers)
func Busybox() (v1.Image, error) { return busybox() }

func busyboxFrom(bin string) (v1.Image, error) {
	body, err := os.ReadFile(bin)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", bin, ErrNoBusybox)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", bin, err)
	}
	out, err := exec.Command(bin, "--list").Output()
	if err != nil {
		return nil, fmt.Errorf("%s --list: %w (is it busybox-static? scripts/install-deps.sh installs it)", bin, err)
	}
	applets := strings.Fields(string(out))
	sort.Strings(applets)

	files := []File{
		Dir("bin", 0o755),
		{Path: "bin/busybox", Mode: 0o755, Body: body},
	}
	for _, a := range applets {
		if a == "busybox" || strings.Contains(a, "/") {
			continue
		}
		files = append(files, Symlink("bin/"+a, "busybox"))
	}
	files = append(files,
		Dir("dev", 0o755),
		Dir("etc", 0o755),
		Reg("etc/passwd", 0o644, "root:x:0:0:root:/root:/bin/sh\n"+
			"nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"+
			"app:x:1000:1000:app:/home/app:/bin/sh\n"),
		Reg("etc/group", 0o644, "root:x:0:\nusers:x:100:app\nnogroup:x:65534:\napp:x:1000:\n"),
		Reg("etc/hosts", 0o644, ""),
		Reg("etc/resolv.conf", 0o644, ""),
		Dir("home", 0o755),
		File{Path: "home/app", Type: tar.TypeDir, Mode: 0o755, UID: 1000, GID: 1000},
		Dir("proc", 0o555),
		Dir("root", 0o700),
		Dir("run", 0o755),
		Dir("sys", 0o555),
		Dir("tmp", 0o1777),
		Dir("usr", 0o755),
		Dir("usr/bin", 0o755),
		Dir("usr/local", 0o755),
		Dir("usr/local/bin", 0o755),
		Dir("var", 0o755),
		Dir("var/tmp", 0o1777),
	)
	base, err := Layer(files...)
	if err != nil {
		return nil, fmt.Errorf("busybox layer: %w", err)
	}
	marker, err := Layer(Dir("etc", 0o755), Reg(MarkerPath, 0o644, "berth test image\n"))
	if err != nil {
		return nil, fmt.Errorf("busybox marker layer: %w", err)
	}
	return Build(empty.Image, v1.Config{
		Cmd: []string{"sh"},
		Env: []string{DefaultPath},
	}, []Step{
		{Layer: base, CreatedBy: "ADD busybox-static /bin/busybox and a minimal /etc"},
		{Layer: marker, CreatedBy: "ADD " + MarkerPath},
	})
}

// Step is one layer added by Build, with its history line.
type Step struct {
	Layer     v1.Layer
	CreatedBy string
}

// Build appends steps to base and sets cfg as its config (linux/amd64,
// created at Epoch). The result's digest depends only on its inputs.
func Build(base v1.Image, cfg v1.Config, steps []Step) (v1.Image, error) {
	adds := make([]mutate.Addendum, 0, len(steps))
	for _, s := range steps {
		adds = append(adds, mutate.Addendum{
			Layer:   s.Layer,
			History: v1.History{Created: v1.Time{Time: Epoch}, CreatedBy: s.CreatedBy},
		})
	}
	img, err := mutate.Append(base, adds...)
	if err != nil {
		return nil, fmt.Errorf("append layers: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("image config: %w", err)
	}
	cf = cf.DeepCopy()
	cf.Config = cfg
	cf.Created = v1.Time{Time: Epoch}
	cf.OS = "linux"
	cf.Architecture = "amd64"
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("image config: %w", err)
	}
	return img, nil
}

// WithProgram adds the test program progs/<prog> (built once per process,
// see Program) on top of base at /usr/local/bin/<prog>, and makes it the
// image's command: Cmd ["/usr/local/bin/<prog>"], no Entrypoint, so a
// service's `command:` replaces it whole and its flags are given as
// `command: [logger, -lines, "3"]`. httpecho exposes 8080/tcp, tcpecho
// 9000/tcp and 9000/udp.
func WithProgram(base v1.Image, prog string) (v1.Image, error) {
	bin, err := Program(prog)
	if err != nil {
		return nil, err
	}
	body, err := os.ReadFile(bin)
	if err != nil {
		return nil, fmt.Errorf("test program %s: %w", prog, err)
	}
	target := "/usr/local/bin/" + prog
	l, err := Layer(
		Dir("usr", 0o755), Dir("usr/local", 0o755), Dir("usr/local/bin", 0o755),
		File{Path: target, Mode: 0o755, Body: body},
	)
	if err != nil {
		return nil, fmt.Errorf("test program %s: layer: %w", prog, err)
	}
	cf, err := base.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("test program %s: base config: %w", prog, err)
	}
	cfg := *cf.Config.DeepCopy()
	cfg.Entrypoint = nil
	cfg.Cmd = []string{target}
	if len(cfg.Env) == 0 {
		cfg.Env = []string{DefaultPath}
	}
	if ports := exposed[prog]; len(ports) > 0 {
		cfg.ExposedPorts = map[string]struct{}{}
		for _, p := range ports {
			cfg.ExposedPorts[p] = struct{}{}
		}
	}
	return Build(base, cfg, []Step{{Layer: l, CreatedBy: "COPY " + prog + " " + target}})
}

var exposed = map[string][]string{
	"httpecho": {fmt.Sprintf("%d/tcp", HTTPEchoPort)},
	"tcpecho":  {fmt.Sprintf("%d/tcp", TCPEchoPort), fmt.Sprintf("%d/udp", TCPEchoPort)},
}

var (
	progImagesMu sync.Mutex
	progImages   = map[string]v1.Image{}
)

// onBusybox is WithProgram(Busybox(), prog), built once per process.
func onBusybox(prog string) (v1.Image, error) {
	progImagesMu.Lock()
	defer progImagesMu.Unlock()
	if img, ok := progImages[prog]; ok {
		return img, nil
	}
	base, err := Busybox()
	if err != nil {
		return nil, err
	}
	img, err := WithProgram(base, prog)
	if err != nil {
		return nil, err
	}
	progImages[prog] = img
	return img, nil
}

// HTTPEcho is busybox with progs/httpecho as its command.
func HTTPEcho() (v1.Image, error) { return onBusybox("httpecho") }

// TCPEcho is busybox with progs/tcpecho as its command.
func TCPEcho() (v1.Image, error) { return onBusybox("tcpecho") }

// Logger is busybox with progs/logger as its command.
func Logger() (v1.Image, error) { return onBusybox("logger") }

// Standard returns the images every test and example uses, by name:
// busybox:latest, httpecho:latest, tcpecho:latest and logger:latest.
func Standard() (map[string]v1.Image, error) {
	bb, err := Busybox()
	if err != nil {
		return nil, err
	}
	m := map[string]v1.Image{BusyboxName: bb}
	for name, f := range map[string]func() (v1.Image, error){
		HTTPEchoName: HTTPEcho, TCPEchoName: TCPEcho, LoggerName: Logger,
	} {
		img, err := f()
		if err != nil {
			return nil, err
		}
		m[name] = img
	}
	return m, nil
}
