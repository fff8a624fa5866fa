package volumes

import (
	"path/filepath"
	"reflect"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// Table tests for the steps Mounts is made of.

func TestSortParentsFirst(t *testing.T) {
	for _, tc := range []struct{ in, want []string }{
		{nil, nil},
		{[]string{"/a/b", "/a", "/"}, []string{"/", "/a", "/a/b"}},
		// Equal depths keep their order.
		{[]string{"/x/y", "/b", "/a", "/x"}, []string{"/b", "/a", "/x", "/x/y"}},
	} {
		var mounts []specs.Mount
		for _, d := range tc.in {
			mounts = append(mounts, specs.Mount{Destination: d})
		}
		sortParentsFirst(mounts)
		var got []string
		for _, mt := range mounts {
			got = append(got, mt.Destination)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("sortParentsFirst(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestVolumeMountOptions(t *testing.T) {
	for _, tc := range []struct {
		ro   bool
		want []string
	}{
		{false, []string{"rbind", "rprivate"}},
		{true, []string{"rbind", "ro", "rprivate"}},
	} {
		mt := volumeMount("/data", "/var/lib/v/_data", tc.ro)
		if mt.Destination != "/data" || mt.Source != "/var/lib/v/_data" || mt.Type != "bind" || !reflect.DeepEqual(mt.Options, tc.want) {
			t.Errorf("read-only %v: %+v, want options %q", tc.ro, mt, tc.want)
		}
	}
}

func TestMountSetRefusesDuplicateTarget(t *testing.T) {
	r := &Request{Service: "web"}
	ms := &mountSet{targets: map[string]string{}}
	if err := ms.add(r, "data", "/data", specs.Mount{Destination: "/data"}); err != nil {
		t.Fatal(err)
	}
	err := ms.add(r, "tmpfs", "/data", specs.Mount{Destination: "/data"})
	want := `service "web": volume tmpfs:/data: duplicate mount point (also used by data)`
	if err == nil || err.Error() != want {
		t.Errorf("second mount at /data: %v, want %s", err, want)
	}
	if len(ms.mounts) != 1 {
		t.Errorf("mounts %+v, want the first only", ms.mounts)
	}
}

func TestVolumeSpec(t *testing.T) {
	m := New(filepath.Join(t.TempDir(), "volumes"), WithMounter(&fakeMounter{}), WithIDs(func() string { return "new-anon" }))
	if _, err := m.Create(t.Context(), Spec{Name: "kept-anon", Anonymous: true}); err != nil {
		t.Fatal(err)
	}
	r := &Request{Project: "proj", Container: "proj-web-1",
		ProjectVolumes: types.Volumes{"data": {Name: "proj_data"}},
		Anonymous:      map[string]string{"/kept": "kept-anon", "/gone": "gone-anon", "/bad": "../escape"}}
	for _, tc := range []struct {
		v        types.ServiceVolumeConfig
		name     string
		anon     bool
		wantErr  string
		labelled bool
	}{
		{v: types.ServiceVolumeConfig{Source: "data", Target: "/d"}, name: "proj_data"},
		{v: types.ServiceVolumeConfig{Source: "undeclared", Target: "/u"}, wantErr: `volume "undeclared" is not declared in the top-level volumes section`},
		{v: types.ServiceVolumeConfig{Target: "/kept"}, name: "kept-anon", anon: true, labelled: true},
		{v: types.ServiceVolumeConfig{Target: "/gone"}, name: "new-anon", anon: true, labelled: true},
		{v: types.ServiceVolumeConfig{Target: "/bad"}, name: "new-anon", anon: true, labelled: true},
		{v: types.ServiceVolumeConfig{Target: "/fresh"}, name: "new-anon", anon: true, labelled: true},
	} {
		spec, u, err := m.volumeSpec(r, tc.v, tc.v.Target)
		if tc.wantErr != "" {
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("%+v: error %v, want %s", tc.v, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%+v: %v", tc.v, err)
		}
		if spec.Name != tc.name || u.Name != tc.name || u.Target != tc.v.Target || u.Anonymous != tc.anon || spec.Anonymous != tc.anon {
			t.Errorf("%+v: spec %+v used %+v, want name %q anonymous %v", tc.v, spec, u, tc.name, tc.anon)
		}
		if tc.labelled {
			want := map[string]string{LabelAnonymous: "", LabelProject: "proj", LabelContainer: "proj-web-1"}
			if !reflect.DeepEqual(spec.Labels, want) {
				t.Errorf("%+v: labels %v, want %v", tc.v, spec.Labels, want)
			}
		}
	}
}
