package main

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/dotenv"
	"github.com/compose-spec/compose-go/v2/types"
)

// The COMPOSE_* variables docker compose reads besides those compose-go
// itself handles in project.Load (COMPOSE_FILE, COMPOSE_PATH_SEPARATOR,
// COMPOSE_PROJECT_NAME, COMPOSE_PROFILES, COMPOSE_DISABLE_ENV_FILE).
const (
	envRemoveOrphans = "COMPOSE_REMOVE_ORPHANS"
	envIgnoreOrphans = "COMPOSE_IGNORE_ORPHANS"
	envParallelLimit = "COMPOSE_PARALLEL_LIMIT"
	envEnvFiles      = "COMPOSE_ENV_FILES"
	envStatusStdout  = "COMPOSE_STATUS_STDOUT"
	envANSI          = "COMPOSE_ANSI"
	envProgress      = "COMPOSE_PROGRESS"
)

// composeEnv is what a project's environment (the OS environment plus
// the env files, as docker compose reads them) says about orphans and
// parallelism.
type composeEnv struct {
	removeOrphans bool
	ignoreOrphans bool
	parallel      int // 0: berth's default
	err           error
}

func composeEnvOf(p *types.Project) composeEnv {
	lookup := func(k string) (string, bool) {
		if p != nil {
			if v, ok := p.Environment[k]; ok {
				return v, true
			}
		}
		return os.LookupEnv(k)
	}
	var c composeEnv
	if v, ok := lookup(envRemoveOrphans); ok {
		c.removeOrphans = envBool(v)
	}
	if v, ok := lookup(envIgnoreOrphans); ok {
		c.ignoreOrphans = envBool(v)
	}
	if v, ok := lookup(envParallelLimit); ok && v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			c.err = fmt.Errorf("%s must be a positive integer (found: %q)", envParallelLimit, v)
		} else {
			c.parallel = n
		}
	}
	return c
}

// parallelLimit is --parallel, else COMPOSE_PARALLEL_LIMIT (in cenv); -1
// means no limit: as many as there are services.
func (g *globalOptions) parallelLimit(cenv composeEnv, services int) (int, error) {
	switch {
	case g.parallel < 0:
		return max(services, 1), nil
	case g.parallel > 0:
		return g.parallel, nil
	}
	return cenv.parallel, nil
}

// progressMode is --progress, else COMPOSE_PROGRESS, else auto.
func (g *globalOptions) progressMode() string {
	if g.progress != "" {
		return g.progress
	}
	if v := os.Getenv(envProgress); v != "" {
		return v
	}
	return "auto"
}

// envBool reads a boolean as docker compose does: true, 1, yes… anything
// else is false.
func envBool(v string) bool {
	b, err := strconv.ParseBool(strings.ToLower(strings.TrimSpace(v)))
	if err != nil {
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "yes", "y", "on":
			return true
		}
	}
	return b
}

// envList splits a comma-separated variable (COMPOSE_ENV_FILES).
func envList(name string) []string {
	return strings.FieldsFunc(os.Getenv(name), func(r rune) bool { return r == ',' })
}

// resolveEnvFlags turns -e/--env values into KEY=VALUE: a bare KEY takes
// its value from lookup (the project's environment: the caller's plus the
// env files) and is left out when lookup has none, as docker compose does.
func resolveEnvFlags(flags []string, lookup func(string) (string, bool)) []string {
	var out []string
	for _, kv := range flags {
		if strings.Contains(kv, "=") {
			out = append(out, kv)
			continue
		}
		if v, ok := lookup(kv); ok {
			out = append(out, kv+"="+v)
		}
	}
	return out
}

// projectLookup finds a variable in a project's environment, else (no
// project) in berth's own.
func projectLookup(p *types.Project) func(string) (string, bool) {
	return func(k string) (string, bool) {
		if p == nil {
			return os.LookupEnv(k)
		}
		v, ok := p.Environment[k]
		return v, ok
	}
}

// envFromFiles adds the variables of run --env-from-file files to env
// (KEY=VALUE) where env does not already set them; values may refer to
// env's variables.
func envFromFiles(env []string, files []string) ([]string, error) {
	set := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		set[k] = v
	}
	for _, file := range files {
		f, err := os.Open(file)
		if err != nil {
			return nil, fmt.Errorf("--env-from-file: %w", err)
		}
		vars, err := dotenv.ParseWithLookup(f, func(k string) (string, bool) {
			v, ok := set[k]
			return v, ok
		})
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("--env-from-file %s: %w", file, err)
		}
		keys := make([]string, 0, len(vars))
		for k := range vars {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if _, ok := set[k]; !ok {
				set[k] = vars[k]
				env = append(env, k+"="+vars[k])
			}
		}
	}
	return env, nil
}
