// Package state keeps berth's container and network records on disk.
//
// It owns the record types (Container, RuntimeState, Network) and their
// stores, each in the directory a layout.Layout names. Atomic writes and
// locks come from internal/fsutil. Only package engine and its
// subpackages import it; the CLI reads records through engine.
package state
