package engine

import (
	"testing"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/project"
)

// The IDs of the images a service's `type: image` volumes mount are part
// of its config hash (recorded by labelImageVolumes), and nothing else of
// its custom labels is.
func TestServiceHashImageVolumeDigest(t *testing.T) {
	p := &types.Project{Name: "demo"}
	svc := types.ServiceConfig{Name: "consumer"}
	svc.Image = "alpine"
	svc.Volumes = []types.ServiceVolumeConfig{{Type: types.VolumeTypeImage, Source: "src", Target: "/data"}}
	hash := func(labels types.Labels) string {
		s := svc
		s.CustomLabels = labels
		h, _, err := serviceHash(p, s)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	none := hash(nil)
	if other := hash(types.Labels{project.LabelEnvironmentFile: "/x/.env"}); other != none {
		t.Errorf("an unrelated custom label changed the hash")
	}
	foo := hash(types.Labels{project.LabelImageVolumeDigest: "/data=sha256:aaa"})
	bar := hash(types.Labels{project.LabelImageVolumeDigest: "/data=sha256:bbb"})
	if foo == none || bar == none || foo == bar {
		t.Errorf("image volume digests do not make the hash: none %s, aaa %s, bbb %s", none, foo, bar)
	}
	if again := hash(types.Labels{project.LabelImageVolumeDigest: "/data=sha256:aaa"}); again != foo {
		t.Errorf("the same digest hashed twice: %s, %s", foo, again)
	}
}
