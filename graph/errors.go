package graph

import (
	"fmt"
	"strings"
)

// UnknownDependencyError reports that Node depends on Dependency, which is
// not a node of the graph.
type UnknownDependencyError struct {
	Node       string
	Dependency string
}

func (e *UnknownDependencyError) Error() string {
	return fmt.Sprintf("service %q depends on undefined service %q", e.Node, e.Dependency)
}

// UnknownNodeError reports that dependencies were given for Node, which is
// not in the list of nodes.
type UnknownNodeError struct {
	Node string
}

func (e *UnknownNodeError) Error() string {
	return fmt.Sprintf("dependencies given for undefined service %q", e.Node)
}

// CycleError reports a dependency cycle. Path lists the nodes of the cycle
// in dependency order and ends with its first node again: Path[i] depends on
// Path[i+1]. The cycle starts at its lexically smallest node; a
// self-dependency is the Path {"a", "a"}.
type CycleError struct {
	Path []string
}

func (e *CycleError) Error() string {
	return "dependency cycle: " + strings.Join(e.Path, " -> ")
}

// NodeError is the error of a walk's function for one node.
type NodeError struct {
	Node string
	Err  error
}

func (e *NodeError) Error() string {
	return fmt.Sprintf("service %q: %v", e.Node, e.Err)
}

func (e *NodeError) Unwrap() error { return e.Err }
