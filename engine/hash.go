package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"sort"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/project"
)

// ServiceConfig returns the canonical JSON of the parts of a service that
// define its containers, and its hash (the com.docker.compose.config-hash
// label). As Compose, build, pull_policy, scale/replicas, depends_on and
// profiles are left out: changing them alone recreates nothing.
func ServiceConfig(s types.ServiceConfig) (hash string, canonical []byte, err error) {
	s.Build = nil
	s.PullPolicy = ""
	s.Scale = nil
	if s.Deploy != nil {
		d := *s.Deploy
		d.Replicas = nil
		s.Deploy = &d
	}
	s.DependsOn = nil
	s.Profiles = nil
	s.CustomLabels = nil
	data, err := json.Marshal(s)
	if err != nil {
		return "", nil, err
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]), data, nil
}

// ChangedFields names the top-level service fields whose value differs
// between two canonical configs, sorted.
func ChangedFields(old, new []byte) []string {
	var a, b map[string]json.RawMessage
	if json.Unmarshal(old, &a) != nil || json.Unmarshal(new, &b) != nil {
		return nil
	}
	var out []string
	for k, v := range b {
		if w, ok := a[k]; !ok || string(w) != string(v) {
			out = append(out, k)
		}
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// serviceHash is ServiceConfig's hash extended with the contents of the
// service's configs and secrets (a changed file recreates the container,
// as in Compose) and the names of the volumes it mounts where a volume's
// name is not the default <project>_<key> (an external volume switched by
// name recreates it, as in Compose) and the IDs of the images its `type:
// image` volumes mount (labelImageVolumes; a rebuilt volume image
// recreates it, as Compose's image-volume-digest label does); canonical
// stays the service config alone.
func serviceHash(p *types.Project, s types.ServiceConfig) (hash string, canonical []byte, err error) {
	hash, canonical, err = ServiceConfig(s)
	var volumeNames []string
	if d := s.CustomLabels[project.LabelImageVolumeDigest]; d != "" {
		volumeNames = append(volumeNames, "image-volume-digest="+d)
	}
	for _, v := range s.Volumes {
		if v.Type != types.VolumeTypeVolume || v.Source == "" {
			continue
		}
		if vc, ok := p.Volumes[v.Source]; ok && vc.Name != "" && vc.Name != p.Name+"_"+v.Source {
			volumeNames = append(volumeNames, v.Source+"="+vc.Name)
		}
	}
	if err != nil || (len(s.Configs) == 0 && len(s.Secrets) == 0 && len(volumeNames) == 0) {
		return hash, canonical, err
	}
	h := sha256.New()
	h.Write([]byte(hash))
	for _, n := range volumeNames {
		h.Write([]byte(n))
		h.Write([]byte{0})
	}
	add := func(obj types.FileObjectConfig) {
		switch {
		case obj.Content != "":
			h.Write([]byte(obj.Content))
		case obj.Environment != "":
			h.Write([]byte(p.Environment[obj.Environment]))
		case obj.File != "":
			if data, err := os.ReadFile(obj.File); err == nil {
				h.Write(data)
			}
		}
		h.Write([]byte{0})
	}
	for _, c := range s.Configs {
		add(types.FileObjectConfig(p.Configs[c.Source]))
	}
	for _, sec := range s.Secrets {
		add(types.FileObjectConfig(p.Secrets[sec.Source]))
	}
	return hex.EncodeToString(h.Sum(nil)), canonical, nil
}

// ServiceHash is the hash berth records as a container's
// com.docker.compose.config-hash label (`config --hash`).
func ServiceHash(p *types.Project, s types.ServiceConfig) (string, error) {
	h, _, err := serviceHash(p, s)
	return h, err
}
