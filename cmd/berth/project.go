package main

import (
	"context"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/graph"
	"github.com/berth-dev/berth/project"
)

// loadProject loads the project the global flags name and checks that its
// services form a graph berth can walk (no cycle, no missing dependency).
func (g *globalOptions) loadProject(ctx context.Context, edit ...func(*project.Options)) (*types.Project, error) {
	o := g.projectOptions()
	for _, e := range edit {
		e(&o)
	}
	p, err := project.Load(ctx, o)
	if err != nil {
		return nil, err
	}
	if !o.NoConsistency {
		if _, err := serviceGraph(p); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// naming is the load edit of a command that names services: a named
// service whose profile is not active activates it (Compose).
func naming(services ...string) func(*project.Options) {
	return func(o *project.Options) { o.Services = services }
}

// unresolvedEnv is the load edit of commands that need no service's
// environment (ps, logs, exec, stop, down, completion): no env_file is
// read, so a missing one fails none of them (Compose).
func unresolvedEnv(o *project.Options) { o.NoEnvResolution = true }

// serviceGraph is the project's dependency graph.
func serviceGraph(p *types.Project) (*graph.Graph, error) {
	deps, err := project.Dependencies(p)
	if err != nil {
		return nil, err
	}
	return graph.New(project.ServiceNames(p), project.Edges(deps))
}
