// Package supervisor is the per-project supervisor process (docs/design.md
// decision 1): the berth binary re-executed as a hidden subcommand, in its
// own session, one per project with running containers. It is the child
// subreaper of the project's containers: it creates and starts them through
// the OCI runtime so their inits are re-parented to it, holds their stdio
// and writes their logs, reaps their exits and records the exit codes,
// applies restart policies, and answers the CLI over a unix socket under
// the run dir. It exits once none of the project's containers runs.
//
// The supervisor runs under a keeper (keeper.go), its parent, which
// restarts it when it is killed and reaps the containers meanwhile; the new
// supervisor adopts the running containers (adopt.go), whose stdout and
// stderr are FIFOs that outlive it (fifo.go). See "Surviving the
// supervisor" in docs/design.md.
//
// The CLI side is Client: Ensure starts the supervisor when none answers
// (under a spawn lock, so two commands never start two), then each call is
// one JSON request and one JSON response on a fresh connection.
//
// It imports engine/state, engine/events, engine/logs, engine/ociruntime,
// network/dns and internal packages; it must not import package engine,
// which is its client.
package supervisor
