package engine

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/engine/state"
	"github.com/berth-dev/berth/network/portmap"
)

// fakePortHost is the host of these tests: the ports a host process holds.
type fakePortHost map[uint16]string

func (h fakePortHost) Check(_ netip.Addr, port uint16, proto portmap.Proto) error {
	if who, ok := h[port]; ok {
		return fmt.Errorf("port %d/%s is already in use by %s", port, proto, who)
	}
	return nil
}

func testPortEngine(t *testing.T, host fakePortHost, lo, hi uint16) *Engine {
	t.Helper()
	dir := t.TempDir()
	e, err := New(filepath.Join(dir, "root"), filepath.Join(dir, "run"),
		WithPortHost(host, portmap.WithRandomRange(lo, hi), portmap.WithRand(func(int) int { return 0 })))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func putRecord(t *testing.T, e *Engine, r *state.Container) {
	t.Helper()
	if err := os.MkdirAll(e.store.Dir(r.ID), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := e.store.Put(r); err != nil {
		t.Fatal(err)
	}
}

func portsProject(t *testing.T, services map[string][]string) *types.Project {
	t.Helper()
	p := &types.Project{Name: "p", Services: types.Services{}, ComposeFiles: []string{"/x/compose.yaml"}}
	for name, specs := range services {
		svc := types.ServiceConfig{Name: name}
		for _, s := range specs {
			pcs, err := types.ParsePortConfig(s)
			if err != nil {
				t.Fatal(err)
			}
			svc.Ports = append(svc.Ports, pcs...)
		}
		p.Services[name] = svc
	}
	return p
}

func assigned(plan Plan) string {
	var b strings.Builder
	for _, s := range plan.Steps {
		fmt.Fprintf(&b, "%s %s:", s.Action, s.Name)
		for _, p := range s.Ports {
			fmt.Fprintf(&b, " %s", p)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// TestAssignPorts: the plan assigns concrete host ports to every
// container it creates or starts — replicas of a range each get the next
// port that no container claims (any project of the state root) and the
// host does not hold; a random port skips the ports berth already DNATs;
// the same port on two host addresses is no conflict; a stopped container
// takes its old port again.
func TestAssignPorts(t *testing.T) {
	e := testPortEngine(t, fakePortHost{6007: "pid 42 (nc)"}, 41000, 41009)
	putRecord(t, e, &state.Container{ID: "other1", Name: "other-web-1", Project: "other", Service: "web",
		Ports: []state.Port{{HostPort: 6006, ContainerPort: 80, Protocol: portmap.TCP}}})
	putRecord(t, e, &state.Container{ID: "keep1", Name: "p-keep-1", Project: "p", Service: "keep",
		PortSpecs: []portmap.Spec{{ContainerPort: 80, Protocol: portmap.TCP}},
		Ports:     []state.Port{{HostPort: 41000, ContainerPort: 80, Protocol: portmap.TCP}}})
	putRecord(t, e, &state.Container{ID: "old1", Name: "p-old-1", Project: "p", Service: "old",
		PortSpecs: []portmap.Spec{{HostFrom: 41005, HostTo: 41009, ContainerPort: 80, Protocol: portmap.TCP}, {ContainerPort: 81, Protocol: portmap.TCP}},
		Ports:     []state.Port{{HostPort: 41008, ContainerPort: 80, Protocol: portmap.TCP}},
		Released:  []state.Port{{HostPort: 41006, ContainerPort: 81, Protocol: portmap.TCP}}})
	p := portsProject(t, map[string][]string{
		"a": {"6005-6009:80"},
		"b": {"80", "53/udp"},
		"c": {"127.0.0.1:7000:80"},
		"d": {"127.0.0.2:7000:80"},
	})
	plan := Plan{Steps: []Step{
		{Service: "a", Number: 1, Name: "p-a-1", Action: ActionCreate},
		{Service: "a", Number: 2, Name: "p-a-2", Action: ActionCreate},
		{Service: "a", Number: 3, Name: "p-a-3", Action: ActionCreate},
		{Service: "b", Number: 1, Name: "p-b-1", Action: ActionCreate},
		{Service: "c", Number: 1, Name: "p-c-1", Action: ActionCreate},
		{Service: "d", Number: 1, Name: "p-d-1", Action: ActionCreate},
		{Service: "keep", Number: 1, Name: "p-keep-1", ID: "keep1", Action: ActionKeep},
		{Service: "old", Number: 1, Name: "p-old-1", ID: "old1", Action: ActionStart},
	}}
	if err := e.assignPorts(p, &plan); err != nil {
		t.Fatal(err)
	}
	want := `create p-a-1: 0.0.0.0:6005->80/tcp
create p-a-2: 0.0.0.0:6008->80/tcp
create p-a-3: 0.0.0.0:6009->80/tcp
create p-b-1: 0.0.0.0:41001->80/tcp 0.0.0.0:41000->53/udp
create p-c-1: 127.0.0.1:7000->80/tcp
create p-d-1: 127.0.0.2:7000->80/tcp
keep p-keep-1:
start p-old-1: 0.0.0.0:41008->80/tcp 0.0.0.0:41006->81/tcp
`
	if got := assigned(plan); got != want {
		t.Errorf("assigned ports:\n%s\nwant:\n%s", got, want)
	}

	// One replica more than the range has free ports: an error naming the
	// file, the service, the range and what holds each port.
	plan.Steps = append(plan.Steps, Step{Service: "a", Number: 4, Name: "p-a-4", Action: ActionCreate})
	err := e.assignPorts(p, &plan)
	for _, w := range []string{"/x/compose.yaml", `service "a"`, "6005-6009", "6006 is published by other-web-1", "pid 42 (nc)"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("fourth replica: error %v does not say %q", err, w)
		}
	}

	// Replicas of one fixed port: refused with a hint.
	p = portsProject(t, map[string][]string{"w": {"8080:80"}})
	plan = Plan{Steps: []Step{
		{Service: "w", Number: 1, Name: "p-w-1", Action: ActionCreate},
		{Service: "w", Number: 2, Name: "p-w-2", Action: ActionCreate},
	}}
	err = e.assignPorts(p, &plan)
	if err == nil || !strings.Contains(err.Error(), "2 replicas cannot all publish host port 8080") || !strings.Contains(err.Error(), `"8080-8081:80"`) {
		t.Errorf("two replicas on one fixed port: %v", err)
	}
}

// TestAssignPortsRecreate: a recreated container's old ports are free for
// its successor (which keeps a random port it had), and a removed
// container's ports for anyone.
func TestAssignPortsRecreate(t *testing.T) {
	e := testPortEngine(t, fakePortHost{}, 42000, 42009)
	putRecord(t, e, &state.Container{ID: "w1", Name: "p-w-1", Project: "p", Service: "w",
		Ports: []state.Port{{HostPort: 42007, ContainerPort: 80, Protocol: portmap.TCP}, {HostPort: 9000, ContainerPort: 81, Protocol: portmap.TCP}}})
	putRecord(t, e, &state.Container{ID: "gone1", Name: "p-gone-1", Project: "p", Service: "gone",
		Ports: []state.Port{{HostPort: 9100, ContainerPort: 80, Protocol: portmap.TCP}}})
	p := portsProject(t, map[string][]string{"w": {"80", "9000:81"}, "n": {"9100:80"}})
	plan := Plan{Steps: []Step{
		{Service: "gone", Number: 1, Name: "p-gone-1", ID: "gone1", Action: ActionRemove},
		{Service: "n", Number: 1, Name: "p-n-1", Action: ActionCreate},
		{Service: "w", Number: 1, Name: "p-w-1", ID: "w1", Action: ActionRecreate},
	}}
	if err := e.assignPorts(p, &plan); err != nil {
		t.Fatal(err)
	}
	want := "remove p-gone-1:\ncreate p-n-1: 0.0.0.0:9100->80/tcp\nrecreate p-w-1: 0.0.0.0:42007->80/tcp 0.0.0.0:9000->81/tcp\n"
	if got := assigned(plan); got != want {
		t.Errorf("assigned ports:\n%s\nwant:\n%s", got, want)
	}
}

// TestPublishers: ps shows published and exposed-only ports as docker
// compose does, and none for a stopped container.
func TestPublishers(t *testing.T) {
	rec := &state.Container{
		Ports:   []state.Port{{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: 8001, ContainerPort: 8000, Protocol: portmap.TCP}},
		Exposed: []state.Port{{ContainerPort: 8080, Protocol: portmap.TCP}, {ContainerPort: 80, Protocol: portmap.TCP}, {ContainerPort: 8000, Protocol: portmap.TCP}},
	}
	got := fmt.Sprint(summarize(rec, &state.RuntimeState{Status: state.StatusRunning}, rec.Created).Publishers)
	if want := "[{ 80 0 tcp} {127.0.0.1 8000 8001 tcp} { 8080 0 tcp}]"; got != want {
		t.Errorf("Publishers = %s, want %s", got, want)
	}
	if ps := summarize(rec, &state.RuntimeState{Status: state.StatusExited}, rec.Created).Publishers; ps != nil {
		t.Errorf("a stopped container shows ports: %v", ps)
	}
}

// TestAssignPortsScaleDown: the ports of a replica removed by a scale
// down are free for its own service (whose removals run first) but not
// for another service, which may be created before the removal is done.
func TestAssignPortsScaleDown(t *testing.T) {
	e := testPortEngine(t, fakePortHost{}, 43000, 43009)
	putRecord(t, e, &state.Container{ID: "a1", Name: "p-a-1", Project: "p", Service: "a",
		Ports: []state.Port{{HostPort: 6005, ContainerPort: 80, Protocol: portmap.TCP}}})
	putRecord(t, e, &state.Container{ID: "a2", Name: "p-a-2", Project: "p", Service: "a",
		Ports: []state.Port{{HostPort: 6006, ContainerPort: 80, Protocol: portmap.TCP}}})
	p := portsProject(t, map[string][]string{"a": {"6006-6007:81"}, "b": {"6006-6007:80"}})
	plan := Plan{Steps: []Step{
		{Service: "a", Number: 1, Name: "p-a-1", ID: "a1", Action: ActionRecreate},
		{Service: "a", Number: 2, Name: "p-a-2", ID: "a2", Action: ActionRemove},
		{Service: "b", Number: 1, Name: "p-b-1", Action: ActionCreate},
	}}
	if err := e.assignPorts(p, &plan); err != nil {
		t.Fatal(err)
	}
	want := "recreate p-a-1: 0.0.0.0:6006->81/tcp\nremove p-a-2:\ncreate p-b-1: 0.0.0.0:6007->80/tcp\n"
	if got := assigned(plan); got != want {
		t.Errorf("assigned ports:\n%s\nwant:\n%s", got, want)
	}
}
