package project

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/compose-spec/compose-go/v2/dotenv"
)

var registerRaw sync.Once

// registerFormats teaches compose-go the `format: raw` env_file format
// that the docker compose CLI (not compose-go) defines: `docker run
// --env-file` semantics, values taken literally.
func registerFormats() {
	registerRaw.Do(func() { dotenv.RegisterFormat("raw", parseRawEnv) })
}

// parseRawEnv reads KEY=VALUE lines with no interpolation and no quote
// handling; `#` lines and blank lines are skipped; a bare KEY takes its
// value from the environment and is dropped when unset there.
func parseRawEnv(r io.Reader, filename string, vars map[string]string, lookup func(string) (string, bool)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if n == 1 {
			line = strings.TrimPrefix(line, "\uFEFF")
		}
		trimmed := strings.TrimLeft(line, " \t")
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		key, value, hasValue := strings.Cut(trimmed, "=")
		if key == "" {
			return fmt.Errorf("env file %s:%d: no variable name before '='", filename, n)
		}
		if strings.ContainsAny(key, " \t") {
			return fmt.Errorf("env file %s:%d: variable name %q contains whitespace", filename, n, key)
		}
		if !hasValue {
			if v, ok := lookup(key); ok {
				vars[key] = v
			}
			continue
		}
		vars[key] = value
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("env file %s: %w", filename, err)
	}
	return nil
}
