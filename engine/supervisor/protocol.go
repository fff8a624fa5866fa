package supervisor

import (
	"path/filepath"
	"time"

	"github.com/berth-dev/berth/engine/state"
)

// Ops the supervisor answers.
const (
	OpPing    = "ping"
	OpStart   = "start"
	OpStop    = "stop"
	OpKill    = "kill"
	OpRemove  = "remove"
	OpPause   = "pause"
	OpResume  = "resume"
	OpList    = "list"
	OpRestart = "restart"
	// OpServeDNS publishes the names of a container the CLI runs itself
	// (a foreground one-off) and serves DNS in its namespace until it is
	// removed.
	OpServeDNS = "serve-dns"
	// OpUnserveDNS ends OpServeDNS when the foreground one-off has
	// exited: its names go, and the supervisor forgets it without
	// touching its state, which the CLI that ran it has written.
	OpUnserveDNS = "unserve-dns"
	// OpExit asks a supervisor with nothing left to watch to exit now,
	// not after its idle delay (`down` returns when nothing of the
	// project is left). It refuses while a container runs.
	OpExit = "exit"
)

// Request is one call from the CLI.
type Request struct {
	Op      string        `json:"op"`
	ID      string        `json:"id,omitempty"`
	Signal  string        `json:"signal,omitempty"`
	Timeout time.Duration `json:"timeout,omitempty"`
	// Timeout < 0 means the container's own stop_grace_period.
}

// Response is the supervisor's answer.
type Response struct {
	Error  string                         `json:"error,omitempty"`
	Pid    int                            `json:"pid,omitempty"`
	States map[string]*state.RuntimeState `json:"states,omitempty"`
}

// Paths are the files of one project's supervisor under the run dir.
type Paths struct {
	Dir    string
	Socket string
	Lock   string // held by the live supervisor for its whole life
	Spawn  string // held by a CLI while it checks for and starts one
	Pid    string
	Log    string
	Keeper string // held by the project's keeper (keeper.go)
	Exits  string // exit codes of orphans the keeper reaped, by pid
	IO     string // the containers' stdout/stderr FIFOs (fifo.go)
}

// PathsFor returns the supervisor paths of a project.
func PathsFor(runDir, project string) Paths {
	d := filepath.Join(runDir, "projects", project)
	return Paths{
		Dir:    d,
		Socket: filepath.Join(d, "supervisor.sock"),
		Lock:   filepath.Join(d, "supervisor.lock"),
		Spawn:  filepath.Join(d, "spawn.lock"),
		Pid:    filepath.Join(d, "supervisor.pid"),
		Log:    filepath.Join(d, "supervisor.log"),
		Keeper: filepath.Join(d, "keeper.lock"),
		Exits:  filepath.Join(d, "exits"),
		IO:     filepath.Join(d, "io"),
	}
}
