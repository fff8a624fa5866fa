package engine

import (
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/engine/ociruntime"
)

func TestPrepareIpcOwnModes(t *testing.T) {
	e := &Engine{}
	p := &types.Project{Name: "p"}
	for mode, want := range map[string]string{"": "private", "private": "private", "shareable": "shareable", "none": "none", "host": "host"} {
		var c ociruntime.Container
		svc := types.ServiceConfig{Name: "web"}
		svc.Ipc = mode
		got, err := e.prepareIpc(p, svc, &c)
		if err != nil || got != want || c.IpcNS != "" {
			t.Errorf("ipc %q: mode %q, ns %q, err %v; want %q and no namespace path", mode, got, c.IpcNS, err, want)
		}
	}
	var c ociruntime.Container
	svc := types.ServiceConfig{Name: "web"}
	svc.Ipc = "/proc/1/ns/ipc"
	_, err := e.prepareIpc(p, svc, &c)
	if err == nil || !strings.Contains(err.Error(), `service "web": ipc "/proc/1/ns/ipc" is not supported`) || c.IpcNS != "" {
		t.Errorf("a path as ipc: err %v, ns %q", err, c.IpcNS)
	}
}
