// Command berth is the CLI: cobra commands, each turning its flags into
// an options struct, making one engine call and printing the result the
// way docker compose (or docker, for the container commands) prints it.
//
// It imports package engine and no engine/ subpackage
// (boundary_test.go): what a command needs of records, images, builds or
// events is named in package engine. Paths come from internal/layout.
package main
