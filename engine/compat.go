package engine

import (
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
)

// EnvCompatibility is Compose's COMPOSE_COMPATIBILITY: set true in the
// environment or the project's .env, it acts as --compatibility.
const EnvCompatibility = "COMPOSE_COMPATIBILITY"

// WithCompatibility is Compose's --compatibility: the project's
// containers are named the way Compose v1 named them, with underscores
// (project_service_1).
func WithCompatibility(on bool) Opt { return func(e *Engine) { e.compatibility = on } }

// compatible tells whether p is run in Compose v1 compatibility mode:
// --compatibility, or COMPOSE_COMPATIBILITY in the project's environment
// (the process's, then .env; as Compose's loader reads it).
func (e *Engine) compatible(p *types.Project) bool {
	if e.compatibility {
		return true
	}
	on, err := strconv.ParseBool(strings.TrimSpace(p.Environment[EnvCompatibility]))
	return err == nil && on
}

// v1Names renames the containers the plan creates, when p is run in
// compatibility mode, from Compose's <project>-<service>-<n> to v1's
// <project>_<service>_<n>. A container_name is kept as it is, and so are
// the names of containers that exist already.
func (e *Engine) v1Names(p *types.Project, pl Plan) Plan {
	if !e.compatible(p) {
		return pl
	}
	for i, s := range pl.Steps {
		if s.Action == ActionCreate && s.Name == ContainerName(p.Name, s.Service, s.Number, "") {
			pl.Steps[i].Name = strings.Join([]string{p.Name, s.Service, strconv.Itoa(s.Number)}, "_")
		}
	}
	return pl
}
