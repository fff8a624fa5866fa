// Package names holds the rules for the names a user or a compose file gives
// to the objects berth creates: containers, volumes, networks and projects.
//
// Each of these names becomes a file name under the state root and often a
// kernel object's name, so a name that is not checked can escape the state
// root ("../../x") or collide with another object. The rules are Docker's
// and the compose-spec's, so a file that works with Docker works here, and
// they are checked where a name enters berth (the project loader and the
// CLI), never deep in the engine.
//
// The package is a leaf: it imports only the standard library, so project,
// engine, network and cmd can all use it.
package names
