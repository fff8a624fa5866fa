package supervisor

import (
	"bufio"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/engine/ociruntime/runtimetest"
)

// A container init that is not our child yet (crun's create returns while
// its helper, the init's parent, still lives) is left to a later reap, not
// recorded as gone with 255; once reparented to us, its exit code comes.
func TestWaitInitNotYetOurs(t *testing.T) {
	runtimetest.BecomeSubreaper(t)
	sh := exec.Command("sh", "-c", "sleep 0.6 & echo $!; sleep 0.3")
	out, err := sh.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := sh.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatalf("grandchild pid %q: %v", line, err)
	}
	if code, done := waitInit(pid); done {
		t.Fatalf("waitInit of a live grandchild: done with %d; want it left for later", code)
	}
	if err := sh.Wait(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, done := waitInit(pid)
		if done {
			if code != 0 {
				t.Errorf("exit code %d, want sleep's 0", code)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the reparented grandchild's exit never came")
		}
		time.Sleep(20 * time.Millisecond)
	}

	// gone, reaped by another (here: by os/exec): 255
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	if code, done := waitInit(gone.Process.Pid); !done || code != 255 {
		t.Errorf("waitInit of a reaped pid: %d, %v; want 255, true", code, done)
	}
}
