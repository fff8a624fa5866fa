package testutil

import (
	"fmt"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"
)

// FakeDockerTable makes an nftables table (named btflt<random>, removed
// when the test ends) shaped like Docker's filter table on these hosts: a
// FORWARD chain with policy drop that jumps to DOCKER-USER. It returns
// its name.
func FakeDockerTable(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("btflt%06x", rand.Uint32()&0xffffff)
	script := fmt.Sprintf(`table ip %[1]s {
	chain DOCKER-USER { }
	chain FORWARD { type filter hook forward priority filter; policy drop; counter jump DOCKER-USER; }
}`, name)
	cmd := exec.Command("nft", "-f", "-")
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("nft: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("nft", "delete", "table", "ip", name).Run() })
	return name
}
