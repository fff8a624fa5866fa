package project

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// LoadError is a compose load error restated for people: it names the
// file (and line, where one can be found) and the service and key at
// fault. Unwrap gives compose-go's own error.
type LoadError struct {
	File string // empty when not known
	Line int    // 0 when not known
	Msg  string
	Err  error
}

func (e *LoadError) Error() string {
	switch {
	case e.File != "" && e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	case e.File != "":
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
	return e.Msg
}

func (e *LoadError) Unwrap() error { return e.Err }

var (
	reUnknownKey  = regexp.MustCompile(`^validating (\S+): ?(\S*) additional propert(?:y|ies) (.+) not allowed`)
	reFalseSchema = regexp.MustCompile(`^validating (\S+): (\S+) false schema`)
	reWrongType   = regexp.MustCompile(`^validating (\S+): (\S+) must be an? (.+)$`)
	reValidating  = regexp.MustCompile(`^validating (\S+): (\S+) (.+)$`)
	reInterpolate = regexp.MustCompile(`^error while interpolating (\S+): (.+)$`)
)

// explain maps compose-go's error text to a LoadError. compose-go gives
// schema errors as text only, so the mapping is by pattern; anything not
// recognised passes through unchanged.
func explain(err error, files []string) error {
	msg := err.Error()
	if m := reUnknownKey.FindStringSubmatch(msg); m != nil {
		path := splitPath(m[2])
		keys := splitKeys(m[3])
		le := &LoadError{File: m[1], Err: err}
		if len(path) == 0 {
			le.Msg = fmt.Sprintf("unknown top-level key %s (allowed: name, services, networks, volumes, configs, secrets, include, models, and x-* extensions)", quoteAll(keys))
		} else {
			le.Msg = fmt.Sprintf("unknown key %s %s (check the spelling against the compose specification)", quoteAll(keys), describe(path))
		}
		le.Line = locate(m[1], append(path, keys[0]))
		return le
	}
	if m := reFalseSchema.FindStringSubmatch(msg); m != nil {
		path := splitPath(m[2])
		key := path[len(path)-1]
		return &LoadError{File: m[1], Line: locate(m[1], path), Err: err,
			Msg: fmt.Sprintf("unknown key %q %s (check the spelling against the compose specification)", key, describe(path[:len(path)-1]))}
	}
	if m := reWrongType.FindStringSubmatch(msg); m != nil {
		path := splitPath(m[2])
		return &LoadError{File: m[1], Line: locate(m[1], path), Err: err,
			Msg: fmt.Sprintf("%s: wrong type: must be %s", field(path), aOrAn(m[3]))}
	}
	if m := reValidating.FindStringSubmatch(msg); m != nil {
		path := splitPath(m[2])
		return &LoadError{File: m[1], Line: locate(m[1], path), Err: err,
			Msg: fmt.Sprintf("%s: %s", field(path), m[3])}
	}
	if m := reInterpolate.FindStringSubmatch(msg); m != nil {
		path := splitPath(m[1])
		le := &LoadError{Err: err, Msg: fmt.Sprintf("%s: %s", field(path), m[2])}
		for _, f := range files {
			if l := locate(f, path); l > 0 {
				le.File, le.Line = f, l
				break
			}
		}
		return le
	}
	if strings.HasPrefix(msg, "yaml: ") || strings.Contains(msg, ": yaml: ") {
		return yamlError(err, files)
	}
	return err
}

// reYAMLPos matches the position go-yaml puts before the problem: "line
// N, column M: " counts lines from 0, a bare "line N: " from 1.
var reYAMLPos = regexp.MustCompile(`line (\d+)(, column \d+)?: `)

// yamlError finds which file fails to parse and restates the parser's
// message with a 1-based line.
func yamlError(err error, files []string) error {
	text := err.Error()
	if i := strings.Index(text, "yaml: "); i >= 0 {
		text = text[i+len("yaml: "):]
	}
	le := &LoadError{Err: err, Msg: "YAML syntax error: " + text}
	if locs := reYAMLPos.FindAllStringSubmatchIndex(text, -1); locs != nil {
		last := locs[len(locs)-1]
		le.Line, _ = strconv.Atoi(text[last[2]:last[3]])
		if last[4] >= 0 {
			le.Line++
		}
		le.Msg = "YAML syntax error: " + text[last[1]:]
	}
	for _, f := range files {
		data, rerr := os.ReadFile(f)
		if rerr != nil {
			continue
		}
		var v any
		if yaml.Unmarshal(data, &v) != nil {
			le.File = f
			break
		}
	}
	return le
}

// locate returns the line of the key at path in a YAML file, or of the
// deepest ancestor found; 0 when the file cannot be read.
func locate(file string, path []string) int { return locateKey(file, path, false) }

// locateKey is the line of the key at path in a YAML file; where the file
// lacks it, 0 when exact, else the line of the deepest ancestor found.
func locateKey(file string, path []string, exact bool) int {
	data, err := os.ReadFile(file)
	if err != nil {
		return 0
	}
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 {
		return 0
	}
	n := doc.Content[0]
	line := n.Line
	for _, key := range path {
		k, v := child(n, key)
		if v == nil {
			if exact {
				return 0
			}
			break
		}
		n, line = v, k.Line
	}
	return line
}

// child finds key under n: the key's node (for its line) and its value.
func child(n *yaml.Node, key string) (k, v *yaml.Node) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				return n.Content[i], n.Content[i+1]
			}
		}
	case yaml.SequenceNode:
		if i, err := strconv.Atoi(key); err == nil && i >= 0 && i < len(n.Content) {
			return n.Content[i], n.Content[i]
		}
	case yaml.AliasNode:
		return child(n.Alias, key)
	}
	return nil, nil
}

func splitPath(p string) []string {
	if p == "" || p == "(root)" {
		return nil
	}
	return strings.Split(p, ".")
}

func splitKeys(s string) []string {
	var keys []string
	for _, k := range strings.Split(s, ",") {
		if k = strings.Trim(strings.TrimSpace(k), `'"`); k != "" {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		keys = []string{s}
	}
	return keys
}

func quoteAll(keys []string) string {
	q := make([]string, len(keys))
	for i, k := range keys {
		q[i] = strconv.Quote(k)
	}
	return strings.Join(q, ", ")
}

// describe says where a path points: `in service "web"`.
func describe(path []string) string {
	switch {
	case len(path) == 0:
		return "at the top level"
	case len(path) == 2 && path[0] == "services":
		return fmt.Sprintf("in service %q", path[1])
	case len(path) > 2 && path[0] == "services":
		return fmt.Sprintf("in service %q, under %s", path[1], strings.Join(path[2:], "."))
	case len(path) == 2:
		return fmt.Sprintf("in %s %q", strings.TrimSuffix(path[0], "s"), path[1])
	}
	return "under " + strings.Join(path, ".")
}

// field names a path as `service "web": ports`.
func field(path []string) string {
	if len(path) >= 3 && path[0] == "services" {
		return fmt.Sprintf("service %q: %s", path[1], strings.Join(path[2:], "."))
	}
	return strings.Join(path, ".")
}

func aOrAn(w string) string {
	if w != "" && strings.ContainsRune("aeiou", rune(w[0])) {
		return "an " + w
	}
	return "a " + w
}

// Locate finds the key at path (e.g. services, web, ports, 0) in the
// compose files, the later files first since they override the earlier:
// the file and 1-based line of the key itself, or of its deepest ancestor
// where no file has the exact key; "", 0 when no file has even the first
// key. Tools that report on a loaded project (a Kubernetes server
// rejecting a translated object) use it to point at the source.
func Locate(files []string, path []string) (file string, line int) {
	for i := len(files) - 1; i >= 0; i-- {
		if l := locateKey(files[i], path, true); l > 0 {
			return files[i], l
		}
	}
	for n := len(path) - 1; n >= 1; n-- {
		for i := len(files) - 1; i >= 0; i-- {
			if l := locateKey(files[i], path[:n], true); l > 0 {
				return files[i], l
			}
		}
	}
	return "", 0
}
