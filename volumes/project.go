package volumes

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"

	"github.com/compose-spec/compose-go/v2/types"
)

// ProjectSpec is the spec of the project volume key (top-level
// `volumes:`): name: or <project>_<key>, its driver, and for a volume the
// project owns (not external) its labels plus labels, the project's and
// the key's.
func ProjectSpec(project, key string, cfg types.VolumeConfig, labels map[string]string) Spec {
	name := cfg.Name
	if name == "" {
		name = project + "_" + key
	}
	spec := Spec{Name: name, Driver: cfg.Driver, DriverOpts: cfg.DriverOpts, External: bool(cfg.External)}
	if !spec.External {
		spec.Labels = maps.Clone(cfg.Labels)
		if spec.Labels == nil {
			spec.Labels = map[string]string{}
		}
		maps.Copy(spec.Labels, labels)
		spec.Labels[LabelProject] = project
		spec.Labels[LabelVolume] = key
		spec.Labels[LabelConfigHash] = ConfigHash(cfg)
	}
	return spec
}

// ConfigHash is the hash of what defines a project volume: its driver,
// driver_opts and labels (not its name, which finds it).
func ConfigHash(cfg types.VolumeConfig) string {
	b, _ := json.Marshal(struct {
		Driver     string            `json:"driver"`
		DriverOpts map[string]string `json:"driver_opts"`
		Labels     map[string]string `json:"labels"`
	}{cfg.Driver, cfg.DriverOpts, cfg.Labels})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
