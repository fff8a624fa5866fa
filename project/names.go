package project

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/internal/names"
)

// checkNames refuses the names a compose file gives that berth turns into
// file names or kernel objects, by Docker's rules (package names): the
// project's name, container_name, volume names and config and secret keys.
// A name such as "../../x" would otherwise make a path outside the state
// root. Each error names the key and the file (and line) that set it.
// Network names are checked with the networks.
func checkNames(p *types.Project) error {
	var errs []error
	bad := func(err error, path ...string) {
		if err != nil {
			errs = append(errs, nameError(p.ComposeFiles, path, err))
		}
	}
	bad(names.ValidProjectName(p.Name), "name")
	for _, svc := range ServiceNames(p) {
		if cn := p.Services[svc].ContainerName; cn != "" {
			bad(names.ValidContainerName(cn), "services", svc, "container_name")
		}
	}
	for _, k := range sortedKeys(p.Volumes) {
		if n := p.Volumes[k].Name; n != "" {
			bad(names.ValidVolumeName(n), "volumes", k, "name")
		}
	}
	for _, k := range sortedKeys(p.Configs) {
		bad(names.ValidConfigName("config", k), "configs", k)
	}
	for _, k := range sortedKeys(p.Secrets) {
		bad(names.ValidConfigName("secret", k), "secrets", k)
	}
	return errors.Join(errs...)
}

// nameError is a LoadError at the key that set a refused name: in the last
// file that has the key itself (an override wins), else the last that has
// its parent (a name derived from the key, as a volume's), else the first.
func nameError(files, path []string, err error) error {
	le := &LoadError{Err: err, Msg: fmt.Sprintf("%s: %v", keyPath(path), err)}
	for depth := len(path); depth > 0 && le.File == ""; depth-- {
		for i := len(files) - 1; i >= 0; i-- {
			if l := locateExact(files[i], path[:depth]); l > 0 {
				le.File, le.Line = files[i], l
				break
			}
		}
	}
	if le.File == "" && len(files) > 0 {
		le.File = files[0]
	}
	return le
}

// locateExact is the line of the key at path in a YAML file, or 0 when the
// file does not have that key.
func locateExact(file string, path []string) int { return locateKey(file, path, true) }

// keyPath names a key as field does, quoting a component that holds a dot
// (a config named ".." reads `configs.".."`).
func keyPath(path []string) string {
	q := make([]string, len(path))
	for i, k := range path {
		q[i] = k
		if k == "" || strings.Contains(k, ".") {
			q[i] = strconv.Quote(k)
		}
	}
	return field(q)
}
