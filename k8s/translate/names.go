package translate

import (
	"fmt"
	"hash/fnv"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// dnsLabel maps a compose name to an RFC 1035 label (what Service names
// need; every other kind accepts it too): lower case, characters outside
// [a-z0-9-] become '-', a leading digit or dash gets an "x" before it, and
// a name longer than 63 characters is cut and ends in a hash of the
// whole. The mapping is deterministic; callers that must keep names apart
// use uniqueLabels.
func dnsLabel(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	s := strings.TrimRight(b.String(), "-")
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		s = "x" + s
	}
	if len(s) > validation.DNS1035LabelMaxLength {
		h := shortHash(name)
		s = strings.TrimRight(s[:validation.DNS1035LabelMaxLength-len(h)-1], "-") + "-" + h
	}
	return s
}

// shortHash is 8 hex digits of FNV-1a.
func shortHash(s string) string {
	h := fnv.New32a()
	h.Write([]byte(s))
	return fmt.Sprintf("%08x", h.Sum32())
}

// withSuffix is base-suffix cut to a valid label.
func withSuffix(base, suffix string) string {
	s := base + "-" + suffix
	if len(s) <= validation.DNS1035LabelMaxLength {
		return s
	}
	h := shortHash(s)
	keep := validation.DNS1035LabelMaxLength - len(suffix) - len(h) - 2
	return strings.TrimRight(base[:keep], "-") + "-" + h + "-" + suffix
}

// serviceNames gives each service its object name: dnsLabel of the name,
// and where two services map to the same label (web_1 and web-1), the
// ones whose name changed get a hash of their compose name appended.
func serviceNames(services []string) map[string]string {
	out := map[string]string{}
	byLabel := map[string][]string{}
	for _, s := range services {
		l := dnsLabel(s)
		byLabel[l] = append(byLabel[l], s)
	}
	for l, ss := range byLabel {
		sort.Strings(ss)
		for _, s := range ss {
			if len(ss) > 1 && s != l {
				out[s] = withSuffix(l, shortHash(s)[:5])
			} else {
				out[s] = l
			}
		}
	}
	return out
}

// validateLabel says why name is not an RFC 1035 label, or "".
func validateLabel(name string) string {
	return strings.Join(validation.IsDNS1035Label(name), "; ")
}

// LabelValue is a compose name (project, service) as the value of the
// com.docker.compose.* labels that selectors use: names longer than 63
// characters are cut and end in a hash of the whole; a trailing '-', '_'
// or '.' becomes a hash too, since label values end alphanumeric.
func LabelValue(s string) string {
	if len(validation.IsValidLabelValue(s)) == 0 {
		return s
	}
	h := shortHash(s)
	cut := s
	if len(cut) > validation.LabelValueMaxLength-len(h)-1 {
		cut = cut[:validation.LabelValueMaxLength-len(h)-1]
	}
	return strings.TrimRight(cut, "-_.") + "-" + h
}

// portName is a valid, unique-enough name for a Service port.
func portName(proto string, port int32) string {
	return fmt.Sprintf("%s-%d", strings.ToLower(proto), port)
}

func validationQualifiedName(k string) string {
	return strings.Join(validation.IsQualifiedName(k), "; ")
}

func validationLabelValue(v string) string {
	return strings.Join(validation.IsValidLabelValue(v), "; ")
}

func validationDNS1123Label(v string) []string {
	return validation.IsDNS1123Label(v)
}

// loadTime are the keys the loader resolves before translation sees the
// project.
var loadTime = map[string]string{
	"env_file":   "read into the container env when the project was loaded",
	"extends":    "merged into the service when the project was loaded",
	"label_file": "read into the labels when the project was loaded",
	"profiles":   "only the services of the active profiles are translated",
}

// coverModel gives a report line to every key of the file as written
// that the translation of the loaded project did not report on.
func (t *translator) coverModel() {
	m := t.o.Model
	if m == nil {
		return
	}
	for _, top := range sortedKeys(m) {
		switch top {
		case "name":
			continue
		case "version":
			t.dropped([]string{top}, "obsolete")
			continue
		case "include":
			t.mapped([]string{top}, "the included files were merged when the project was loaded")
			continue
		case "services", "networks", "volumes", "configs", "secrets", "models", "jobs":
		default:
			if !t.reportedUnder(top) {
				t.dropped([]string{top}, "not translated")
			}
			continue
		}
		entries, _ := m[top].(map[string]any)
		for _, name := range sortedKeys(entries) {
			k := top + "." + name
			if top != "services" {
				if !t.reportedUnder(k) {
					t.dropped([]string{top, name}, "no translated service uses it")
				}
				continue
			}
			if l, ok := t.lineFor(k); ok && l.Verdict != Mapped && l.Verdict != Approximated {
				continue // the whole service was dropped or refused
			}
			body, _ := entries[name].(map[string]any)
			for _, key := range sortedKeys(body) {
				if t.reportedUnder(k + "." + key) {
					continue
				}
				if why, ok := loadTime[key]; ok {
					t.mapped([]string{top, name, key}, "%s", why)
				} else if r, ok := serviceKeys[key]; ok {
					t.line([]string{top, name, key}, r.verdict, "%s (normalized away when the project was loaded)", r.detail)
				} else if strings.HasPrefix(key, "x-") {
					t.dropped([]string{top, name, key}, "extension: ignored")
				} else {
					t.dropped([]string{top, name, key}, "berth does not know this key")
				}
			}
		}
	}
}

// lineFor is the first report line of key.
func (t *translator) lineFor(key string) (ReportLine, bool) {
	for _, l := range t.report {
		if l.Key == key {
			return l, true
		}
	}
	return ReportLine{}, false
}

func validationDNS1123Subdomain(v string) []string {
	return validation.IsDNS1123Subdomain(v)
}
