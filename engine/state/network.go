package state

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/fsutil"
)

// Network is berth's record of one network (a bridge).
type Network struct {
	Name     string            `json:"name"` // full name, <project>_<key> or name:
	ID       string            `json:"id"`
	Project  string            `json:"project,omitempty"`
	Key      string            `json:"key,omitempty"` // the compose key
	Bridge   string            `json:"bridge"`
	Subnet   string            `json:"subnet"`
	Gateway  string            `json:"gateway"`
	IPRange  string            `json:"ip_range,omitempty"`
	Internal bool              `json:"internal,omitempty"`
	MTU      int               `json:"mtu,omitempty"`
	Labels   map[string]string `json:"labels,omitempty"`
	Created  time.Time         `json:"created"`
}

// DefaultBridge is the name of the default network of standalone
// containers, Docker's `bridge`: made on first use, removed with its last
// container; no name resolution on it. No other network may take the name.
const DefaultBridge = "bridge"

// ErrNoNetwork is returned for a network record that does not exist.
var ErrNoNetwork = errors.New("no such network")

// Networks keeps network records under <root>/networks/.
type Networks struct{ dir string }

// NewNetworks returns the network record store of a state root.
func NewNetworks(dir string) *Networks { return &Networks{dir: dir} }

func (n *Networks) path(name string) string { return filepath.Join(n.dir, name+".json") }

// Put writes a record.
func (n *Networks) Put(r *Network) error { return fsutil.WriteJSON(n.path(r.Name), r) }

// Get reads a record by name.
func (n *Networks) Get(name string) (*Network, error) {
	if name == "" || strings.ContainsAny(name, "/") {
		return nil, fmt.Errorf("network %q: %w", name, ErrNoNetwork)
	}
	var r Network
	if err := fsutil.ReadJSON(n.path(name), &r); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("network %s: %w", name, ErrNoNetwork)
		}
		return nil, err
	}
	return &r, nil
}

// Delete removes a record.
func (n *Networks) Delete(name string) error {
	err := os.Remove(n.path(name))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// List returns all records, by name.
func (n *Networks) List() ([]*Network, error) {
	entries, err := os.ReadDir(n.dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []*Network
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || strings.HasPrefix(name, ".") {
			continue
		}
		r, err := n.Get(name)
		if err != nil {
			continue
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
