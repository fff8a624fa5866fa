package network_test

import (
	"net"
	"path/filepath"
	"testing"

	"github.com/berth-dev/berth/internal/testutil"
	"github.com/berth-dev/berth/network"
	"github.com/berth-dev/berth/network/networktest"
)

// TestKernelHost runs the conformance suite of network.Host on the real
// kernel (root only), with a lock file of its own.
func TestKernelHost(t *testing.T) {
	testutil.RequiresRoot(t)
	_, subnet, _ := net.ParseCIDR("10.231.203.0/24")
	networktest.TestHost(t, func(t *testing.T) network.Host {
		return network.Kernel{LockFile: filepath.Join(t.TempDir(), "network.lock")}
	}, subnet)
}
