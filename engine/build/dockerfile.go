package build

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// Errors of a build, wrapped with the file, line, stage or path at fault.
var (
	ErrSyntax        = errors.New("dockerfile syntax error")
	ErrUnknownStage  = errors.New("unknown build stage")
	ErrNotInContext  = errors.New("file not found in build context")
	ErrRemoteSource  = errors.New("remote sources are not supported")
	ErrStepFailed    = errors.New("build step failed")
	ErrUnsupported   = errors.New("not supported")
	ErrStageCycle    = errors.New("build stages depend on each other in a cycle")
	ErrPlatform      = errors.New("unsupported platform")
	ErrNoDockerfile  = errors.New("no Dockerfile found")
	ErrContextAccess = errors.New("build context unreadable")
)

// proxyArgs are usable without an ARG and kept out of history and cache
// keys, as Docker does.
var proxyArgs = []string{
	"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy",
	"FTP_PROXY", "ftp_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy",
}

// dockerfile is a parsed Dockerfile.
type dockerfile struct {
	name     string // how errors name it ("Dockerfile", "path/to/Dockerfile")
	stages   []instructions.Stage
	metaArgs []instructions.ArgCommand
	escape   rune
}

// readDockerfile reads the Dockerfile of o (inline text wins over a file).
func readDockerfile(o *Options) (name string, data []byte, err error) {
	if o.DockerfileInline != "" {
		return "Dockerfile (inline)", []byte(o.DockerfileInline), nil
	}
	name = o.Dockerfile
	if name == "" {
		name = "Dockerfile"
	}
	p := name
	if !filepath.IsAbs(p) {
		p = filepath.Join(o.ContextDir, p)
	}
	data, err = os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return name, nil, fmt.Errorf("%w: %s", ErrNoDockerfile, p)
	}
	if err != nil {
		return name, nil, fmt.Errorf("read Dockerfile %s: %w", p, err)
	}
	return name, data, nil
}

// parseDockerfile parses data with BuildKit's parser; errors name the line.
func parseDockerfile(name string, data []byte) (*dockerfile, error) {
	res, err := parser.Parse(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %s", name, ErrSyntax, locate(err))
	}
	stages, meta, err := instructions.Parse(res.AST, nil)
	if err != nil {
		msg := locate(err)
		if strings.Contains(msg, "no build stage in current context") {
			msg += " (only ARG may come before the first FROM)"
		}
		return nil, fmt.Errorf("%s: %w: %s", name, ErrSyntax, msg)
	}
	if len(stages) == 0 {
		return nil, fmt.Errorf("%s: %w: no FROM instruction", name, ErrSyntax)
	}
	return &dockerfile{name: name, stages: stages, metaArgs: meta, escape: res.EscapeToken}, nil
}

// locate puts "line N: " before err's text when BuildKit knows the line
// and has not said it already.
func locate(err error) string {
	msg := err.Error()
	if strings.Contains(msg, "line ") {
		return msg
	}
	var le *parser.LocationError
	if errors.As(err, &le) && len(le.Locations) > 0 && len(le.Locations[0]) > 0 {
		return fmt.Sprintf("line %d: %s", le.Locations[0][0].Start.Line, msg)
	}
	return msg
}

// lineOf is the first line of a command, for error messages.
func lineOf(loc []parser.Range) int {
	if len(loc) == 0 {
		return 0
	}
	return loc[0].Start.Line
}

// stageIndex finds a stage by name (case-insensitive) or by number.
func (d *dockerfile) stageIndex(name string, before int) (int, bool) {
	if i, ok := instructions.HasStage(d.stages[:before], name); ok {
		return i, true
	}
	if n, err := strconv.Atoi(name); err == nil && n >= 0 && n < before {
		return n, true
	}
	return -1, false
}

// stageNames lists the named stages, for error messages.
func (d *dockerfile) stageNames() string {
	var names []string
	for i, s := range d.stages {
		if s.Name != "" {
			names = append(names, s.Name)
		} else {
			names = append(names, strconv.Itoa(i))
		}
	}
	return strings.Join(names, ", ")
}

// target returns the index of the stage to build.
func (d *dockerfile) target(name string) (int, error) {
	if name == "" {
		return len(d.stages) - 1, nil
	}
	if i, ok := instructions.HasStage(d.stages, name); ok {
		return i, nil
	}
	return -1, fmt.Errorf("%s: target %q: %w (stages: %s)", d.name, name, ErrUnknownStage, d.stageNames())
}

// argScope holds the build args and expands words like BuildKit.
type argScope struct {
	lex       *shell.Lex
	buildArgs map[string]*string // --build-arg values (nil: not given)
	global    map[string]string  // global ARGs (before the first FROM) with values
	used      map[string]bool    // build args some ARG consumed
}

func newArgScope(escape rune, buildArgs map[string]*string) *argScope {
	return &argScope{lex: shell.NewLex(escape), buildArgs: buildArgs, global: map[string]string{}, used: map[string]bool{}}
}

// buildArg returns the --build-arg value of name.
func (a *argScope) buildArg(name string) (string, bool) {
	v, ok := a.buildArgs[name]
	if !ok || v == nil {
		return "", false
	}
	a.used[name] = true
	return *v, true
}

// platformArgs are BuildKit's automatic platform args (all linux/amd64 here).
func platformArgs() map[string]string {
	m := map[string]string{}
	for _, p := range []string{"BUILD", "TARGET"} {
		m[p+"PLATFORM"] = "linux/amd64"
		m[p+"OS"] = "linux"
		m[p+"ARCH"] = "amd64"
		m[p+"VARIANT"] = ""
	}
	return m
}

// declareGlobal evaluates the ARGs before the first FROM.
func (a *argScope) declareGlobal(meta []instructions.ArgCommand) error {
	auto := platformArgs()
	for _, cmd := range meta {
		for _, kv := range cmd.Args {
			env := envGetter(a.global, auto)
			if v, ok := a.buildArg(kv.Key); ok {
				a.global[kv.Key] = v
				continue
			}
			if kv.Value != nil {
				v, _, err := a.lex.ProcessWord(*kv.Value, env)
				if err != nil {
					return fmt.Errorf("line %d: ARG %s: %w", lineOf(cmd.Location()), kv.Key, err)
				}
				a.global[kv.Key] = v
				continue
			}
			if v, ok := auto[kv.Key]; ok {
				a.global[kv.Key] = v
			}
		}
	}
	return nil
}

// expandGlobal expands a FROM line's words with the global ARGs.
func (a *argScope) expandGlobal(word string) (string, error) {
	v, _, err := a.lex.ProcessWord(word, envGetter(a.global, platformArgs()))
	return v, err
}

// proxyEnv returns the proxy build args given, as KEY=VALUE.
func (a *argScope) proxyEnv() []string {
	var out []string
	for _, k := range proxyArgs {
		if v, ok := a.buildArg(k); ok {
			out = append(out, k+"="+v)
		}
	}
	return out
}

// unused lists --build-arg names that no ARG consumed (Docker warns).
func (a *argScope) unused() []string {
	var out []string
	for k, v := range a.buildArgs {
		if v != nil && !a.used[k] && !slices.Contains(proxyArgs, k) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// mapEnv is a shell.EnvGetter over maps, earlier maps winning.
type mapEnv []map[string]string

func envGetter(ms ...map[string]string) mapEnv { return mapEnv(ms) }

func (m mapEnv) Get(k string) (string, bool) {
	for _, mm := range m {
		if v, ok := mm[k]; ok {
			return v, true
		}
	}
	return "", false
}

func (m mapEnv) Keys() []string {
	seen := map[string]bool{}
	var out []string
	for _, mm := range m {
		for _, k := range slices.Sorted(maps.Keys(mm)) {
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	return out
}

// envMap turns KEY=VALUE entries into a map.
func envMap(env []string) map[string]string {
	m := make(map[string]string, len(env))
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

// setEnv sets key in a KEY=VALUE list, in place when present.
func setEnv(env []string, key, value string) []string {
	for i, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k == key {
			out := slices.Clone(env)
			out[i] = key + "=" + value
			return out
		}
	}
	return append(slices.Clone(env), key+"="+value)
}
