package build

import (
	"reflect"
	"strings"
	"testing"
)

func TestLastLines(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want []string
	}{
		{in: "", n: 3},
		{in: "a\nb\n", n: 3, want: []string{"a", "b"}},
		{in: "a\nb\nc\nd\ne", n: 3, want: []string{"c", "d", "e"}},
		{in: "a\r\nb\n", n: 1, want: []string{"b"}},
	} {
		var seen []string
		got := lastLines(strings.NewReader(tc.in), tc.n, func(l string) { seen = append(seen, l) })
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("lastLines(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
		if all := strings.FieldsFunc(strings.ReplaceAll(tc.in, "\r", ""), func(r rune) bool { return r == '\n' }); len(seen) != len(all) {
			t.Errorf("lastLines(%q) passed on %q, want every line", tc.in, seen)
		}
	}
	long := strings.Repeat("x", 512*1024)
	if got := lastLines(strings.NewReader(long+"\nend\n"), 2, func(string) {}); len(got) != 2 || got[0] != long {
		t.Errorf("a 512 KiB line was not kept whole")
	}
}
