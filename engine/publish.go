package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	ggcrtypes "github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/berth-dev/berth/engine/image"
	"github.com/berth-dev/berth/project"
)

// PublishOptions tune PublishProject.
type PublishOptions struct {
	// OCIVersion is "1.1" (artifactType and an empty config, the default)
	// or "1.0" (the artifact type as the config's media type, for
	// registries that predate OCI 1.1).
	OCIVersion string
	// Insecure speaks plain HTTP to the registry (--insecure-registry);
	// loopback registries always are.
	Insecure bool
	// Version is written in each layer's com.docker.compose.version.
	Version string
}

// emptyConfig is OCI's empty descriptor's content.
var emptyConfig = []byte("{}")

// PublishProject pushes files as Compose's OCI artifact to ref and
// returns the manifest's digest: each file a layer with its media type and
// annotations, then the manifest.
func (e *Engine) PublishProject(ctx context.Context, ref string, files []project.ArtifactFile, o PublishOptions) (string, error) {
	cfg, err := image.LoadConfig()
	if err != nil {
		return "", err
	}
	var nopts []name.Option
	tag, err := name.NewTag(ref)
	if err != nil {
		return "", fmt.Errorf("publish %s: %w", ref, err)
	}
	if o.Insecure || cfg.IsInsecure(tag.RegistryStr()) {
		nopts = append(nopts, name.Insecure)
		if tag, err = name.NewTag(ref, nopts...); err != nil {
			return "", err
		}
	}
	ropts := []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)}

	configType := ggcrtypes.MediaType("application/vnd.oci.empty.v1+json")
	artifactType := project.ArtifactType
	switch o.OCIVersion {
	case "", "1.1":
	case "1.0":
		configType, artifactType = project.ArtifactType, ""
	default:
		return "", fmt.Errorf("--oci-version %q: want 1.0 or 1.1", o.OCIVersion)
	}
	config := static.NewLayer(emptyConfig, configType)
	if err := remote.WriteLayer(tag.Repository, config, ropts...); err != nil {
		return "", fmt.Errorf("publish %s: config: %w", ref, err)
	}
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     ggcrtypes.OCIManifestSchema1,
		Config:        v1.Descriptor{MediaType: configType, Size: int64(len(emptyConfig)), Digest: mustDigest(config)},
		Annotations:   map[string]string{project.AnnotationVersion: o.Version},
	}
	for _, f := range files {
		l := static.NewLayer(f.Data, ggcrtypes.MediaType(f.MediaType))
		if err := remote.WriteLayer(tag.Repository, l, ropts...); err != nil {
			return "", fmt.Errorf("publish %s: layer %s: %w", ref, f.Name, err)
		}
		m.Layers = append(m.Layers, v1.Descriptor{
			MediaType:   ggcrtypes.MediaType(f.MediaType),
			Size:        int64(len(f.Data)),
			Digest:      mustDigest(l),
			Annotations: f.Annotations(o.Version),
		})
	}
	raw, err := json.Marshal(artifactManifest{Manifest: m, ArtifactType: artifactType})
	if err != nil {
		return "", err
	}
	if err := remote.Put(tag, rawManifest(raw), ropts...); err != nil {
		return "", fmt.Errorf("publish %s: manifest: %w", ref, err)
	}
	d, _, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		return "", err
	}
	return d.String(), nil
}

// artifactManifest is an OCI image manifest with OCI 1.1's artifactType.
type artifactManifest struct {
	v1.Manifest
	ArtifactType string `json:"artifactType,omitempty"`
}

// rawManifest is a manifest remote.Put sends as it is.
type rawManifest []byte

func (r rawManifest) RawManifest() ([]byte, error) { return r, nil }
func (r rawManifest) MediaType() (ggcrtypes.MediaType, error) {
	return ggcrtypes.OCIManifestSchema1, nil
}

func mustDigest(l v1.Layer) v1.Hash {
	d, err := l.Digest() // a static layer's digest cannot fail
	if err != nil {
		panic(err)
	}
	return d
}
