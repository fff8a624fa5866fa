package build

import "testing"

// TestHeredocs: RUN and COPY heredocs as BuildKit runs them: a lone
// heredoc through the shell, one starting with #! as its own script, one
// inside a longer line given to the shell; COPY <<EOF writes the file,
// with variables expanded unless the delimiter is quoted.
func TestHeredocs(t *testing.T) {
	e := newEnv(t)
	dir := writeContext(t, map[string]string{"x": "x\n"})
	df := `FROM busybox
ENV WHO=world
RUN <<EOF
echo "first line" > /plain
echo "second for $WHO" >> /plain
EOF
RUN <<EOT
#!/bin/sh
echo "script as $0" > /script
EOT
RUN cat > /inline <<EOF
inline $WHO
EOF
COPY <<EOF /etc/greeting
hello $WHO
EOF
COPY <<'EOF' /etc/literal
hello $WHO
EOF
`
	img, rec := e.mustBuild(t, dir, df, Options{})
	fs := flat(t, img)
	for p, want := range map[string]string{
		"/plain":        "first line\nsecond for world\n",
		"/script":       "script as /dev/pipes/EOT\n",
		"/inline":       "inline world\n",
		"/etc/greeting": "hello world\n",
		"/etc/literal":  "hello $WHO\n",
	} {
		if got := fileOf(t, fs, p); got != want {
			t.Errorf("%s = %q, want %q\n%s", p, got, want, rec.log())
		}
	}
	if _, ok := fs["/dev/pipes/EOT"]; ok {
		t.Error("the heredoc script landed in the image")
	}
	// Changing a heredoc's text is a change of its step.
	df2 := df[:len(df)-len("hello $WHO\nEOF\n")] + "bye $WHO\nEOF\n"
	img2, rec := e.mustBuild(t, dir, df2, Options{})
	if got := fileOf(t, flat(t, img2), "/etc/literal"); got != "bye $WHO\n" {
		t.Errorf("/etc/literal = %q after its heredoc changed\n%s", got, rec.log())
	}
}
