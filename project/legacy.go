package project

import (
	"os"
	"strconv"

	"go.yaml.in/yaml/v4"
)

// LegacyInitialSync tells, for each service, which of its develop.watch
// rules (by index) ask for an initial sync with the legacy
// `x-initialSync: true` extension and not with `initial_sync`. compose-go
// promotes the extension to the attribute while loading, silently, so the
// loaded project no longer shows it: this reads the compose files again
// (p.ComposeFiles; one that cannot be read or parsed is skipped, loading
// already said what was wrong with it). Compose warns about each such
// rule when the watch starts.
func LegacyInitialSync(files []string) map[string][]int {
	out := map[string][]int{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var doc yaml.Node
		if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 {
			continue
		}
		services := get(doc.Content[0], "services")
		if services == nil || services.Kind != yaml.MappingNode {
			continue
		}
		for i := 0; i+1 < len(services.Content); i += 2 {
			name, svc := services.Content[i].Value, services.Content[i+1]
			for _, key := range []string{"develop", "x-develop"} {
				rules := get(get(svc, key), "watch")
				if rules == nil || rules.Kind != yaml.SequenceNode {
					continue
				}
				for j, r := range rules.Content {
					if isTrue(get(r, "x-initialSync")) && get(r, "initial_sync") == nil {
						out[name] = append(out[name], j)
					}
				}
			}
		}
	}
	return out
}

// get is the value of key under the mapping n; nil where n is nil or
// has no such key.
func get(n *yaml.Node, key string) *yaml.Node {
	if n == nil {
		return nil
	}
	_, v := child(n, key)
	if v != nil && v.Kind == yaml.AliasNode {
		v = v.Alias
	}
	return v
}

// isTrue: a YAML scalar that reads as the boolean true.
func isTrue(n *yaml.Node) bool {
	if n == nil || n.Kind != yaml.ScalarNode {
		return false
	}
	b, err := strconv.ParseBool(n.Value)
	return err == nil && b
}
