package engine

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/compose-spec/compose-go/v2/types"
)

// Provider services (`provider: {type, options}`, Compose's extension
// protocol): no container, but a program run on the host that makes an
// outside resource and reports environment for the services that depend
// on it. berth runs `TYPE compose --project-name=P up --KEY=VALUE… SERVICE`
// (TYPE found on PATH, else as a Docker CLI plugin docker-TYPE) and reads
// its stdout, one JSON object per line, {"type", "message"}:
//
//	info       progress, shown as the service's status
//	error      the up fails with the message
//	debug      ignored
//	setenv     KEY=VALUE, given to dependents as SERVICE_KEY (the
//	           dependent's own environment wins a clash)
//	rawsetenv  KEY=VALUE, given to dependents as KEY, over theirs (warned)
//
// `stop` runs TYPE's `stop`, `down` its `down`. The program is the user's
// own, named by the compose file: it runs with berth's environment and
// privileges, as under Compose.

// providerEnv is what the providers of one up reported, by provider
// service.
type providerEnv struct {
	mu     sync.Mutex
	prefix map[string]map[string]string // setenv
	raw    map[string]map[string]string // rawsetenv
}

func isProvider(s types.ServiceConfig) bool { return s.Provider != nil }

// providerMessage is one line of a provider's output.
type providerMessage struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// providerCommand finds the provider program for typ and the arguments
// that precede `compose …`.
func providerCommand(typ string) (string, []string, error) {
	if strings.ContainsAny(typ, "/\\") || typ == "" || typ == "." || typ == ".." {
		return "", nil, fmt.Errorf("provider type %q is not a program name", typ)
	}
	if p, err := exec.LookPath(typ); err == nil {
		return p, nil, nil
	}
	var dirs []string
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, ".docker", "cli-plugins"))
	}
	dirs = append(dirs, "/usr/local/lib/docker/cli-plugins", "/usr/local/libexec/docker/cli-plugins",
		"/usr/lib/docker/cli-plugins", "/usr/libexec/docker/cli-plugins")
	for _, d := range dirs {
		p := filepath.Join(d, "docker-"+typ)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p, []string{typ}, nil // a CLI plugin takes its name first
		}
	}
	return "", nil, fmt.Errorf("provider %q not found: no %s on PATH and no Docker CLI plugin docker-%s", typ, typ, typ)
}

// runProvider runs the provider of svc for command (up, down, stop) and
// returns what it reported with setenv and rawsetenv.
func (e *Engine) runProvider(ctx context.Context, p *types.Project, svc types.ServiceConfig, command string) (prefixed, raw map[string]string, err error) {
	prog, pre, err := providerCommand(svc.Provider.Type)
	if err != nil {
		return nil, nil, fmt.Errorf("service %q: %w", svc.Name, err)
	}
	args := append(pre, "compose", "--project-name="+p.Name, command)
	for _, k := range sortedKeys(svc.Provider.Options) {
		for _, v := range svc.Provider.Options[k] {
			args = append(args, "--"+k+"="+v)
		}
	}
	args = append(args, svc.Name)
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.Env = os.Environ()
	for k, v := range p.Environment {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, fmt.Errorf("service %q: provider %s: %w", svc.Name, svc.Provider.Type, err)
	}
	prefixed, raw = map[string]string{}, map[string]string{}
	var failures []string
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var m providerMessage
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			e.progress(Event{Kind: "Service", Name: svc.Name, Status: "Warning", Text: "provider printed a line that is not a message: " + line})
			continue
		}
		switch m.Type {
		case "info":
			e.progress(Event{Kind: "Service", Name: svc.Name, Status: m.Message})
		case "error":
			failures = append(failures, m.Message)
		case "setenv", "rawsetenv":
			k, v, ok := strings.Cut(m.Message, "=")
			if !ok || k == "" {
				failures = append(failures, fmt.Sprintf("%s %q is not KEY=VALUE", m.Type, m.Message))
				continue
			}
			if m.Type == "setenv" {
				prefixed[k] = v
			} else {
				raw[k] = v
			}
		}
	}
	werr := cmd.Wait()
	if len(failures) > 0 {
		return nil, nil, fmt.Errorf("service %q: provider %s %s: %s", svc.Name, svc.Provider.Type, command, strings.Join(failures, "; "))
	}
	if werr != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg != "" {
			werr = fmt.Errorf("%w: %s", werr, msg)
		}
		return nil, nil, fmt.Errorf("service %q: provider %s %s: %w", svc.Name, svc.Provider.Type, command, werr)
	}
	return prefixed, raw, nil
}

// providerUp runs a provider service's up and keeps what it reported.
func (e *Engine) providerUp(ctx context.Context, p *types.Project, svc types.ServiceConfig, env *providerEnv) error {
	e.emit("Service", svc.Name, "Creating")
	prefixed, raw, err := e.runProvider(ctx, p, svc, "up")
	if err != nil {
		return err
	}
	env.mu.Lock()
	defer env.mu.Unlock()
	if env.prefix == nil {
		env.prefix, env.raw = map[string]map[string]string{}, map[string]map[string]string{}
	}
	env.prefix[svc.Name], env.raw[svc.Name] = prefixed, raw
	e.emit("Service", svc.Name, "Created")
	return nil
}

// withProviderEnv gives svc the environment its providers reported: each
// setenv KEY as PROVIDER_KEY unless svc sets that itself, each rawsetenv
// KEY as is, over svc's own (with a warning).
func (e *Engine) withProviderEnv(p *types.Project, svc types.ServiceConfig, env *providerEnv) types.ServiceConfig {
	env.mu.Lock()
	defer env.mu.Unlock()
	deps := sortedKeys(svc.DependsOn)
	var add map[string]*string
	set := func(k, v string) {
		if add == nil {
			add = map[string]*string{}
		}
		add[k] = &v
	}
	for _, dep := range deps {
		if d, ok := p.Services[dep]; !ok || !isProvider(d) {
			continue
		}
		prefix := strings.ToUpper(strings.ReplaceAll(dep, "-", "_")) + "_"
		for k, v := range env.prefix[dep] {
			if _, own := svc.Environment[prefix+k]; !own {
				set(prefix+k, v)
			}
		}
		keys := make([]string, 0, len(env.raw[dep]))
		for k := range env.raw[dep] {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if _, own := svc.Environment[k]; own {
				e.progress(Event{Kind: "Service", Name: svc.Name, Status: "Warning",
					Text: fmt.Sprintf("provider %q overrides environment variable %s", dep, k)})
			}
			set(k, env.raw[dep][k])
		}
	}
	if add == nil {
		return svc
	}
	merged := types.MappingWithEquals{}
	for k, v := range svc.Environment {
		merged[k] = v
	}
	for k, v := range add {
		merged[k] = v
	}
	svc.Environment = merged
	return svc
}

// providersDo runs command (stop, down) for the provider services of p
// among services (all when empty).
func (e *Engine) providersDo(ctx context.Context, p *types.Project, services []string, command string) error {
	if p == nil {
		return nil
	}
	var errs []error
	for _, name := range sortedKeys(p.Services) {
		svc := p.Services[name]
		if !isProvider(svc) || (len(services) > 0 && !slices.Contains(services, name)) {
			continue
		}
		if _, _, err := providerCommand(svc.Provider.Type); err != nil {
			// nothing to ask (never installed, or gone): say so, go on
			e.progress(Event{Kind: "Service", Name: name, Status: "Warning", Text: err.Error() + "; skipped"})
			continue
		}
		if _, _, err := e.runProvider(ctx, p, svc, command); err != nil {
			errs = append(errs, err)
			continue
		}
		status := map[string]string{"stop": "Stopped", "down": "Removed"}[command]
		e.emit("Service", name, status)
	}
	return errors.Join(errs...)
}
