package engine

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/project"
)

// containerLabels are the labels of a new container: the service's own,
// then every label Compose writes, with Compose's values, so that tools
// reading them (and Compose itself) find what they expect. Compose's win
// over the service's: convergence depends on them.
func containerLabels(cs containerSpec) map[string]string {
	p, svc := cs.project, cs.service
	labels := map[string]string{}
	for k, v := range svc.Labels {
		labels[k] = v
	}
	for k, v := range svc.CustomLabels { // set by project.Load (environment_file)
		labels[k] = v
	}
	labels[project.LabelProject] = p.Name
	labels[project.LabelService] = svc.Name
	labels[project.LabelVersion] = project.ComposeVersion
	labels[project.LabelContainerNumber] = strconv.Itoa(cs.number)
	labels[project.LabelOneoff] = boolLabel(cs.oneoff)
	labels[project.LabelConfigHash] = cs.hash
	labels[project.LabelWorkingDir] = p.WorkingDir
	labels[project.LabelConfigFiles] = strings.Join(p.ComposeFiles, ",")
	labels[project.LabelDependencies] = dependsOnLabel(svc)
	if cs.image != nil {
		labels[project.LabelImage] = cs.image.ID()
	}
	if cs.slug != "" {
		labels[project.LabelSlug] = cs.slug
	}
	if cs.replaces != "" {
		labels[project.LabelReplace] = cs.replaces
	}
	return labels
}

// dependsOnLabel is com.docker.compose.depends_on: the service's
// depends_on as "name:condition:restart", comma-separated (sorted, where
// Compose follows map order).
func dependsOnLabel(svc types.ServiceConfig) string {
	deps := make([]string, 0, len(svc.DependsOn))
	for name, d := range svc.DependsOn {
		cond := d.Condition
		if cond == "" {
			cond = types.ServiceConditionStarted
		}
		deps = append(deps, fmt.Sprintf("%s:%s:%t", name, cond, d.Restart))
	}
	sort.Strings(deps)
	return strings.Join(deps, ",")
}

func boolLabel(b bool) string {
	if b {
		return "True"
	}
	return "False"
}
