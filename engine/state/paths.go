package state

import "os"

// DefaultRoot and DefaultRun are where berth keeps its state and runtime
// files unless BERTH_ROOT / BERTH_RUN say otherwise.
const (
	DefaultRoot = "/var/lib/berth"
	DefaultRun  = "/run/berth"
)

// Root is berth's state root: BERTH_ROOT, else /var/lib/berth.
func Root() string {
	if r := os.Getenv("BERTH_ROOT"); r != "" {
		return r
	}
	return DefaultRoot
}

// RunDir is berth's run dir: BERTH_RUN, else /run/berth.
func RunDir() string {
	if r := os.Getenv("BERTH_RUN"); r != "" {
		return r
	}
	return DefaultRun
}
