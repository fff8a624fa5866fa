package engine

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth-dev/berth/engine/state"
)

func testEngine(t *testing.T) *Engine {
	t.Helper()
	dir := t.TempDir()
	e, err := New(filepath.Join(dir, "root"), filepath.Join(dir, "run"))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func ctr(id, name, project, service string, n int) *state.Container {
	return &state.Container{ID: strings.Repeat(id, 64), Name: name, Project: project, Service: service, Number: n}
}

// TestClaimNameUnique: a name is one container's across every project of
// the state root; the error names the owner; the same slot may be claimed
// again (a stale record of the replica being created anew).
func TestClaimNameUnique(t *testing.T) {
	e := testEngine(t)
	if err := e.claimName(t.Context(), ctr("a", "shared", "p1", "web", 1)); err != nil {
		t.Fatal(err)
	}
	err := e.claimName(t.Context(), ctr("b", "shared", "p2", "thief", 1))
	if err == nil || !strings.Contains(err.Error(), `project "p1"`) || !strings.Contains(err.Error(), `service "web"`) {
		t.Errorf("second claim of a name: %v", err)
	}
	if err := e.claimName(t.Context(), ctr("c", "shared", "p1", "web", 1)); err != nil {
		t.Errorf("the same slot again: %v", err)
	}
	if err := e.claimName(t.Context(), ctr("d", "shared", "p1", "other", 1)); err == nil {
		t.Error("another service of the same project took the name")
	}
	if err := e.claimName(t.Context(), ctr("e", "../x", "p1", "web", 2)); err == nil {
		t.Error("an invalid name was claimed")
	}
}

// TestContainerByRef: container:REF is a name, else a unique ID prefix.
func TestContainerByRef(t *testing.T) {
	recs := []*state.Container{ctr("a", "one", "p", "s", 1), {ID: "ab" + strings.Repeat("0", 62), Name: "two"}}
	if r, err := containerByRef(recs, "two"); err != nil || r.Name != "two" {
		t.Errorf("by name: %v %v", r, err)
	}
	if r, err := containerByRef(recs, "ab"); err != nil || r.Name != "two" {
		t.Errorf("by unique prefix: %v %v", r, err)
	}
	for _, ref := range []string{"a", "", "zz"} {
		if r, err := containerByRef(recs, ref); err == nil {
			t.Errorf("%q resolved to %s", ref, r.Name)
		}
	}
}
