package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/engine/state"
)

// hooks reads a container's post_start or pre_stop hooks from the service
// config recorded at its creation.
func hooks(rec *state.Container, which string) []types.ServiceHook {
	if len(rec.Config) == 0 {
		return nil
	}
	var cfg struct {
		PostStart []types.ServiceHook `json:"post_start"`
		PreStop   []types.ServiceHook `json:"pre_stop"`
	}
	if json.Unmarshal(rec.Config, &cfg) != nil {
		return nil
	}
	if which == "post_start" {
		return cfg.PostStart
	}
	return cfg.PreStop
}

// runHooks runs a container's hooks of one kind in it, in order. A failing
// post_start hook fails the start, as Compose. A failing pre_stop hook fails
// the stop too (Compose's exit code and words), but the other hooks still
// run and the caller still stops the container: a down never leaves a
// container running because its hook failed.
func (e *Engine) runHooks(ctx context.Context, rec *state.Container, which string) error {
	var errs []error
	for i, h := range hooks(rec, which) {
		var env []string
		for k, v := range h.Environment {
			if v != nil {
				env = append(env, k+"="+*v)
			}
		}
		var out bytes.Buffer
		w, done := e.hookWriter(rec, &out)
		code, err := e.execIn(ctx, rec, ExecOptions{
			Command: h.Command, Env: env, Workdir: h.WorkingDir, User: h.User, Privileged: h.Privileged,
		}, w)
		done()
		if err == nil && code != 0 {
			err = fmt.Errorf("%s hook exited with status %d: %s", rec.Service, code, strings.TrimSpace(out.String()))
		}
		if err != nil {
			err = fmt.Errorf("service %q: %s hook %d (%s): %w", rec.Service, which, i+1, strings.Join(h.Command, " "), err)
			if which == "pre_stop" {
				errs = append(errs, err)
				continue
			}
			return err
		}
	}
	return errors.Join(errs...)
}
