package archive

import (
	"path"
	"strings"
	"testing"
)

func TestOutsideRel(t *testing.T) {
	for _, tc := range []struct {
		raw     string
		hostDir bool
		done    bool
		err     bool
	}{
		{raw: "a/b"},
		{raw: "a/../b"},
		{raw: "..foo"},
		{raw: ".", done: true},
		{raw: "", done: true},
		{raw: "/", done: true},
		{raw: "a/..", done: true},
		{raw: "..", done: true, err: true},
		{raw: "../x", done: true, err: true},
		{raw: "a/../../x", done: true, err: true},
		{raw: "..", hostDir: true, done: true},
	} {
		rel := path.Clean(tc.raw)
		done, err := outsideRel(rel, tc.raw, tc.hostDir)
		if done != tc.done || (err != nil) != tc.err {
			t.Errorf("outsideRel(%q, host dir %v) = %v, %v; want done %v, error %v", tc.raw, tc.hostDir, done, err, tc.done, tc.err)
		}
		if err != nil && !strings.Contains(err.Error(), `"`+tc.raw+`" is not beneath the target`) {
			t.Errorf("error %q does not name %q", err, tc.raw)
		}
	}
}
