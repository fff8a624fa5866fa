package build

import (
	"fmt"
	"strings"
	"time"
)

// StepStatus says what happened to a step.
type StepStatus string

// Statuses of a step, in the order a step goes through them.
const (
	StatusStarted StepStatus = "started" // the step begins (its title line)
	StatusOutput  StepStatus = "output"  // a line of its output (Line)
	StatusCached  StepStatus = "cached"  // its result came from the cache: no work done
	StatusDone    StepStatus = "done"    // it finished (Elapsed)
	StatusError   StepStatus = "error"   // it failed (Err)
)

// Step is a progress event of a build, numbered like BuildKit's plain
// output: "#3 [builder 2/5] RUN make".
type Step struct {
	ID          int           // step number in this build, from 1
	Stage       string        // stage name ("" for an unnamed stage of a one-stage build)
	Index       int           // position within its stage, from 1 (0 for build-level steps)
	Total       int           // steps of its stage
	Instruction string        // the instruction, expanded ("RUN make")
	Status      StepStatus    //
	Line        string        // output line (StatusOutput)
	Elapsed     time.Duration // since the step started (output, done, error)
	Err         error         // StatusError
}

// Title is the step's heading: "[builder 2/5] RUN make".
func (s Step) Title() string {
	if s.Index == 0 {
		return s.Instruction
	}
	if s.Stage == "" {
		return fmt.Sprintf("[%d/%d] %s", s.Index, s.Total, s.Instruction)
	}
	return fmt.Sprintf("[%s %d/%d] %s", s.Stage, s.Index, s.Total, s.Instruction)
}

// String renders the event as a line of plain progress.
func (s Step) String() string {
	switch s.Status {
	case StatusStarted:
		return fmt.Sprintf("#%d %s", s.ID, s.Title())
	case StatusOutput:
		return fmt.Sprintf("#%d %.3f %s", s.ID, s.Elapsed.Seconds(), s.Line)
	case StatusCached:
		return fmt.Sprintf("#%d CACHED", s.ID)
	case StatusDone:
		return fmt.Sprintf("#%d DONE %.1fs", s.ID, s.Elapsed.Seconds())
	case StatusError:
		return fmt.Sprintf("#%d ERROR: %v", s.ID, s.Err)
	}
	return fmt.Sprintf("#%d %s", s.ID, s.Status)
}

// stepEvent is a step in progress.
type stepEvent struct {
	Step
	start time.Time
}

func (r *run) begin(stage string, index, total int, instr string) *stepEvent {
	r.seq++
	ev := &stepEvent{Step: Step{ID: r.seq, Stage: stage, Index: index, Total: total, Instruction: oneLine(instr), Status: StatusStarted}, start: time.Now()}
	r.emit(ev)
	return ev
}

func (r *run) emit(ev *stepEvent) {
	if r.o.Progress == nil {
		return
	}
	s := ev.Step
	if s.Status != StatusStarted && s.Status != StatusCached {
		s.Elapsed = time.Since(ev.start)
	}
	r.o.Progress(s)
}

func (r *run) output(ev *stepEvent, line string) {
	ev.Status, ev.Line = StatusOutput, line
	r.emit(ev)
	ev.Line = ""
}

func (r *run) cached(ev *stepEvent) {
	ev.Status = StatusCached
	r.emit(ev)
}

func (r *run) done(ev *stepEvent) {
	ev.Status = StatusDone
	r.emit(ev)
}

// fail reports err on the step and returns it.
func (r *run) fail(ev *stepEvent, err error) error {
	ev.Status, ev.Err = StatusError, err
	r.emit(ev)
	return err
}

// oneLine shortens an instruction for a title: continuation lines joined,
// long ones cut.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		s = s[:197] + "..."
	}
	return s
}
