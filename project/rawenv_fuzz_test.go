package project

import (
	"strings"
	"testing"
)

// FuzzRawEnv: any bytes as a `format: raw` env file either fail with an
// error naming the file, or give variables whose names are non-empty and
// hold no whitespace or '=', and whose values hold no line break: one line
// of the file can never become two variables or a variable of another
// name.
func FuzzRawEnv(f *testing.F) {
	for _, s := range []string{
		"A=1\nB=two words\n",
		"\uFEFFA=1\r\n# c\n\n  B=x=y\n",
		"=novalue\n",
		"SPACE KEY=1\n",
		"BARE\nA='quoted'\n",
		"A=1\x00B=2\n",
		"A=\rB=2\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		vars := map[string]string{}
		lookup := func(k string) (string, bool) {
			if k == "BARE" {
				return "from-env", true
			}
			return "", false
		}
		err := parseRawEnv(strings.NewReader(string(data)), "fuzz.env", vars, lookup)
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.env") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		for k, v := range vars {
			if k == "" || strings.ContainsAny(k, " \t=\n") {
				t.Fatalf("variable name %q from %q", k, data)
			}
			if strings.Contains(v, "\n") {
				t.Fatalf("value of %s holds a line break: %q", k, v)
			}
		}
	})
}
