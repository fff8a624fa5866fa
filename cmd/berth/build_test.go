package main

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/berth-dev/berth/engine"
)

// TestBuildPrinter: plain output is BuildKit's; the terminal form ends a
// step's line with CACHED or its time, output lines under it.
func TestBuildPrinter(t *testing.T) {
	steps := []engine.BuildStep{
		{ID: 1, Index: 1, Total: 2, Instruction: "FROM busybox", Status: engine.BuildStatusStarted},
		{ID: 1, Index: 1, Total: 2, Instruction: "FROM busybox", Status: engine.BuildStatusDone, Elapsed: 10 * time.Millisecond},
		{ID: 2, Index: 2, Total: 2, Instruction: "COPY a /a", Status: engine.BuildStatusStarted},
		{ID: 2, Index: 2, Total: 2, Instruction: "COPY a /a", Status: engine.BuildStatusCached},
		{ID: 3, Stage: "b", Index: 1, Total: 1, Instruction: "RUN make", Status: engine.BuildStatusStarted},
		{ID: 3, Stage: "b", Index: 1, Total: 1, Instruction: "RUN make", Status: engine.BuildStatusOutput, Line: "cc -o x", Elapsed: 1500 * time.Millisecond},
		{ID: 3, Stage: "b", Index: 1, Total: 1, Instruction: "RUN make", Status: engine.BuildStatusError, Err: errors.New("exit code 2")},
	}
	cases := map[string]string{
		"plain": "#1 [1/2] FROM busybox\n#1 DONE 0.0s\n#2 [2/2] COPY a /a\n#2 CACHED\n#3 [b 1/1] RUN make\n#3 1.500 cc -o x\n#3 ERROR: exit code 2\n",
		"tty":   "#1 [1/2] FROM busybox  0.0s\n#2 [2/2] COPY a /a  CACHED\n#3 [b 1/1] RUN make\n   cc -o x\n#3 [b 1/1] RUN make  ERROR\n",
	}
	for mode, want := range cases {
		var buf bytes.Buffer
		p := newBuildPrinter(&buf, true, mode)
		for _, s := range steps {
			p.step(s)
		}
		if buf.String() != want {
			t.Errorf("%s:\n%s\nwant:\n%s", mode, buf.String(), want)
		}
	}
	if checkProgress("fancy") == nil || checkProgress("plain") != nil {
		t.Error("checkProgress accepts the wrong values")
	}
}

// TestBuildPrinterServices: steps of builds running at once are numbered
// in one sequence and titled with their service, as Compose's plain
// progress shows them.
func TestBuildPrinterServices(t *testing.T) {
	var buf bytes.Buffer
	p := newBuildPrinter(&buf, true, "plain")
	for _, e := range []struct {
		svc string
		s   engine.BuildStep
	}{
		{"web", engine.BuildStep{ID: 1, Index: 1, Total: 2, Instruction: "FROM busybox", Status: engine.BuildStatusStarted}},
		{"api", engine.BuildStep{ID: 1, Stage: "builder", Index: 1, Total: 3, Instruction: "FROM golang", Status: engine.BuildStatusStarted}},
		{"web", engine.BuildStep{ID: 1, Index: 1, Total: 2, Instruction: "FROM busybox", Status: engine.BuildStatusDone}},
		{"api", engine.BuildStep{ID: 1, Stage: "builder", Index: 1, Total: 3, Instruction: "FROM golang", Status: engine.BuildStatusOutput, Line: "pulled"}},
		{"web", engine.BuildStep{ID: 2, Instruction: "exporting to image", Status: engine.BuildStatusStarted}},
		{"api", engine.BuildStep{ID: 1, Stage: "builder", Index: 1, Total: 3, Instruction: "FROM golang", Status: engine.BuildStatusCached}},
	} {
		p.serviceStep(e.svc, e.s)
	}
	want := "#1 [web 1/2] FROM busybox\n#2 [api builder 1/3] FROM golang\n#1 DONE 0.0s\n#2 0.000 pulled\n#3 [web] exporting to image\n#2 CACHED\n"
	if buf.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", buf.String(), want)
	}
}
