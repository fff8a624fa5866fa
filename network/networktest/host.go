package networktest

import (
	"context"
	"fmt"
	"net"
	"slices"
	"sort"
	"sync"

	"github.com/berth-dev/berth/network"
)

// Host is an in-memory network.Host: namespaces, bridges and veths are
// entries in maps, checked as the kernel checks them (a second namespace
// on one path, a veth to a missing bridge or namespace, a bridge name
// another owner holds), and every call is recorded. The zero value is
// ready to use.
type Host struct {
	// Errs makes the named method ("CreateNetns", "Attach", …) fail
	// with that error, after recording the call.
	Errs map[string]error
	// HostRoutes is what Routes returns.
	HostRoutes []*net.IPNet

	mu      sync.Mutex
	calls   []string
	netns   map[string]bool
	bridges map[string]network.BridgeConfig
	foreign map[string]bool
	veths   map[string]network.Attachment // by host-end name
	lock    chan struct{}
	once    sync.Once
}

var _ network.Host = (*Host)(nil)

// NewHost returns an empty Host.
func NewHost() *Host { return &Host{} }

func (h *Host) init() {
	h.once.Do(func() {
		h.netns = map[string]bool{}
		h.bridges = map[string]network.BridgeConfig{}
		h.foreign = map[string]bool{}
		h.veths = map[string]network.Attachment{}
		h.lock = make(chan struct{}, 1)
	})
}

// call records a call and returns the error Errs sets for its method; the
// caller holds h.mu.
func (h *Host) call(method, args string) error {
	h.init()
	err := h.Errs[method]
	if args != "" {
		method += " " + args
	}
	h.calls = append(h.calls, method)
	return err
}

// Calls returns the calls made so far, one "Method args" line each, in
// order: "CreateNetns PATH", "EnsureBridge NAME", "Attach NETNS IFNAME
// BRIDGE", "Detach NETNS IFNAME", "DeleteNetns PATH", "DeleteBridge NAME",
// "Routes", "Lock".
func (h *Host) Calls() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.calls)
}

// AddForeignLink puts an interface named name on the host that berth did
// not make: EnsureBridge of that name fails with ErrForeignLink.
func (h *Host) AddForeignLink(name string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.init()
	h.foreign[name] = true
}

// Netns lists the namespaces that exist, sorted.
func (h *Host) Netns() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.init()
	out := make([]string, 0, len(h.netns))
	for p := range h.netns {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// Bridge returns the bridge of that name, if it exists.
func (h *Host) Bridge(name string) (network.BridgeConfig, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.init()
	c, ok := h.bridges[name]
	return c, ok
}

// Attachments lists the veths into the namespace at netnsPath, by
// interface name.
func (h *Host) Attachments(netnsPath string) []network.Attachment {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.init()
	var out []network.Attachment
	for _, a := range h.veths {
		if a.NetnsPath == netnsPath {
			out = append(out, a)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].IfName < out[j].IfName })
	return out
}

// CreateNetns implements network.Host.
func (h *Host) CreateNetns(path string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.call("CreateNetns", path); err != nil {
		return err
	}
	if h.netns[path] {
		return fmt.Errorf("netns %s: %w", path, network.ErrNetnsExists)
	}
	h.netns[path] = true
	return nil
}

// DeleteNetns implements network.Host: the namespace's veths go with it.
func (h *Host) DeleteNetns(path string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.call("DeleteNetns", path); err != nil {
		return err
	}
	delete(h.netns, path)
	for name, a := range h.veths {
		if a.NetnsPath == path {
			delete(h.veths, name)
		}
	}
	return nil
}

// EnsureBridge implements network.Host.
func (h *Host) EnsureBridge(ctx context.Context, c network.BridgeConfig) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.call("EnsureBridge", c.Name); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if c.Name == "" || len(c.Name) > 15 {
		return fmt.Errorf("bridge name %q: must be 1 to 15 characters", c.Name)
	}
	if c.NetworkID == "" {
		return fmt.Errorf("bridge %s: no network ID to own it", c.Name)
	}
	if old, ok := h.bridges[c.Name]; h.foreign[c.Name] || ok && old.NetworkID != c.NetworkID {
		return fmt.Errorf("bridge %s: %w", c.Name, network.ErrForeignLink)
	}
	h.bridges[c.Name] = c
	return nil
}

// DeleteBridge implements network.Host.
func (h *Host) DeleteBridge(ctx context.Context, name, networkID string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.call("DeleteBridge", name); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if old, ok := h.bridges[name]; ok && old.NetworkID == networkID {
		delete(h.bridges, name)
	}
	return nil
}

func hostEnd(a network.Attachment) string {
	if a.HostIfName != "" {
		return a.HostIfName
	}
	return network.VethName(a.NetnsPath, a.IfName)
}

// Attach implements network.Host.
func (h *Host) Attach(ctx context.Context, a network.Attachment) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.call("Attach", a.NetnsPath+" "+a.IfName+" "+a.Bridge); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if a.IfName == "" || len(a.IfName) > 15 {
		return fmt.Errorf("attach %s: interface name %q must be 1 to 15 characters", a.NetnsPath, a.IfName)
	}
	if _, ok := h.bridges[a.Bridge]; !ok {
		return fmt.Errorf("attach %s to %s: %w", a.NetnsPath, a.Bridge, network.ErrNoBridge)
	}
	if !h.netns[a.NetnsPath] {
		return fmt.Errorf("attach %s: open netns: no such namespace", a.NetnsPath)
	}
	for name, old := range h.veths {
		if old.NetnsPath == a.NetnsPath && old.IfName == a.IfName {
			delete(h.veths, name) // a stale pair: replaced
		}
	}
	h.veths[hostEnd(a)] = a
	return nil
}

// Detach implements network.Host.
func (h *Host) Detach(ctx context.Context, a network.Attachment) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.call("Detach", a.NetnsPath+" "+a.IfName); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	delete(h.veths, hostEnd(a))
	return nil
}

// Routes implements network.Host: HostRoutes.
func (h *Host) Routes() ([]*net.IPNet, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.call("Routes", ""); err != nil {
		return nil, err
	}
	return slices.Clone(h.HostRoutes), nil
}

// Lock implements network.Host with a one-holder channel: like the real
// flock, a holder that locks again waits (here until ctx is done).
func (h *Host) Lock(ctx context.Context) (func(), error) {
	h.mu.Lock()
	err := h.call("Lock", "")
	lock := h.lock
	h.mu.Unlock()
	if err != nil {
		return nil, err
	}
	select {
	case lock <- struct{}{}:
		var once sync.Once
		return func() { once.Do(func() { <-lock }) }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
