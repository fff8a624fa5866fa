package volumes

import (
	"fmt"
	"path"
	"strings"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// Docker mounts every tmpfs (`tmpfs:` entries and `type: tmpfs` volumes)
// noexec, nosuid, nodev and rprivate; the service's options come after and
// win ("exec" undoes "noexec").
var tmpfsDefaults = []string{"noexec", "nosuid", "nodev", "rprivate"}

// tmpfsFlagGroup maps a flag option to its group: an option and its inverse
// share a group, and so do all propagation modes; the last one given wins.
var tmpfsFlagGroup = map[string]string{
	"ro": "ro", "rw": "ro",
	"exec": "exec", "noexec": "exec",
	"suid": "suid", "nosuid": "suid",
	"dev": "dev", "nodev": "dev",
	"atime": "atime", "noatime": "atime",
	"diratime": "diratime", "nodiratime": "diratime",
	"relatime": "relatime", "norelatime": "relatime",
	"strictatime": "strictatime", "nostrictatime": "strictatime",
	"sync": "sync", "async": "sync",
	"dirsync": "dirsync", "mand": "mand", "nomand": "mand",
	"iversion": "iversion", "noiversion": "iversion",
	"lazytime": "lazytime", "nolazytime": "lazytime",
	"private": "propagation", "rprivate": "propagation",
	"shared": "propagation", "rshared": "propagation",
	"slave": "propagation", "rslave": "propagation",
	"unbindable": "propagation", "runbindable": "propagation",
}

// tmpfsDataKeys are the key=value options tmpfs takes.
var tmpfsDataKeys = map[string]bool{
	"size": true, "mode": true, "uid": true, "gid": true,
	"nr_inodes": true, "nr_blocks": true, "mpol": true, "huge": true,
}

// mergeTmpfsOptions keeps, for each flag group and each data key, only the
// last option given, in the order of those last occurrences.
func mergeTmpfsOptions(opts []string) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	for i := len(opts) - 1; i >= 0; i-- {
		o := strings.TrimSpace(opts[i])
		if o == "" || o == "defaults" {
			continue
		}
		key := tmpfsFlagGroup[o]
		if key == "" {
			k, _, ok := strings.Cut(o, "=")
			if !ok || !tmpfsDataKeys[k] {
				return nil, fmt.Errorf("invalid tmpfs option %q", o)
			}
			key = "=" + k
		}
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, o)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

func tmpfsMount(target string, opts []string) (specs.Mount, error) {
	merged, err := mergeTmpfsOptions(append(append([]string{}, tmpfsDefaults...), opts...))
	if err != nil {
		return specs.Mount{}, err
	}
	return specs.Mount{Destination: target, Type: "tmpfs", Source: "tmpfs", Options: merged}, nil
}

// parseTmpfsEntry splits one `tmpfs:` entry, "/run" or "/run:size=64m,mode=1777".
func parseTmpfsEntry(entry string) (string, []string, error) {
	target, opts, _ := strings.Cut(strings.TrimSpace(entry), ":")
	if !path.IsAbs(target) {
		return "", nil, fmt.Errorf("tmpfs %q: the path must be absolute", entry)
	}
	var list []string
	if opts != "" {
		list = strings.Split(opts, ",")
	}
	return path.Clean(target), list, nil
}

// tmpfsSize renders a size as Docker does: the largest of g, m, k that
// divides it evenly, else plain bytes.
func tmpfsSize(n int64) string {
	for _, u := range []struct {
		suffix string
		size   int64
	}{{"g", 1 << 30}, {"m", 1 << 20}, {"k", 1 << 10}} {
		if n%u.size == 0 {
			return fmt.Sprintf("size=%d%s", n/u.size, u.suffix)
		}
	}
	return fmt.Sprintf("size=%d", n)
}
