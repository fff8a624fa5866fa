// Package events is berth's container event log: one append-only file of
// JSON lines per state root ($BERTH_ROOT/events.jsonl), written by every
// berth process that changes a container (the CLI creates and destroys,
// the supervisor starts, reaps, restarts and checks health) and read by
// `berth events`. With no daemon to broadcast events, the file is the
// broadcast: writers append whole lines under a flock, readers tail it,
// and it rotates to events.jsonl.1 when it grows past its bound.
//
// It imports engine/state (the container records it describes) only; it
// must not import package engine or the supervisor, which both write to it.
package events
