// Package engine is the API the berth CLI calls: Up, Down, Ps, Logs, Run,
// Exec and the rest.
//
// Each call observes what runs, plans the difference to the project, and
// executes the plan. It owns convergence, container creation and removal,
// networks and published ports as Compose sees them, and the read API the
// commands need (Records: containers and networks; exports.go: the types
// of its subpackages the CLI shows, named once here). The host is reached
// through seams injected in New (Firewall, the port probe, the runtime).
//
// It imports its subpackages, project, graph, network, volumes and
// internal packages. Nothing under engine/ imports it, and cmd/berth
// imports it and no engine/ subpackage (cmd/berth/boundary_test.go).
package engine
