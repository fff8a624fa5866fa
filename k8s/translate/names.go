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

// labelValue is a compose name as a label value: names longer than 63
// characters are cut and end in a hash of the whole; a trailing '-', '_'
// or '.' becomes a hash too, since label values end alphanumeric.
func labelValue(s string) string {
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
