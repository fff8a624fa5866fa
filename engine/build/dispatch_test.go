package build

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// configRun parses a one-stage Dockerfile and returns a run ready to
// dispatch its config-only instructions, and the stage's fresh state.
func configRun(t *testing.T, dockerfile string, buildArgs map[string]*string) (*run, *stageState) {
	t.Helper()
	df, err := parseDockerfile("Dockerfile", []byte(dockerfile))
	if err != nil {
		t.Fatal(err)
	}
	r := &run{df: df, args: newArgScope(df.escape, buildArgs)}
	if err := r.args.declareGlobal(df.metaArgs); err != nil {
		t.Fatal(err)
	}
	return r, &stageState{cfg: &v1.ConfigFile{}, args: map[string]string{}}
}

// TestDispatchConfigInstructions runs config-only instructions through
// dispatch, with no container and no root, and checks both the config and
// the history's created-by text.
func TestDispatchConfigInstructions(t *testing.T) {
	r, st := configRun(t, `ARG G=global
FROM scratch
ARG A
ARG B=dflt
ARG G
ARG TARGETARCH
ARG NONE
ENV PORT=8080 NAME="x y"
LABEL a=1 b=${B}
EXPOSE ${PORT} 53/UDP
VOLUME /data /cache
USER app
STOPSIGNAL SIGINT
SHELL ["/bin/bash", "-c"]
CMD echo $NAME
ENTRYPOINT ["tini", "--"]
HEALTHCHECK --interval=5s CMD ["true"]
ONBUILD RUN make
MAINTAINER me
`, map[string]*string{"A": ptr("given")})
	for _, cmd := range r.df.stages[0].Commands {
		if err := r.dispatch(t.Context(), st, cmd); err != nil {
			t.Fatal(err)
		}
	}
	wantArgs := map[string]string{"A": "given", "B": "dflt", "G": "global", "TARGETARCH": "amd64"}
	if !reflect.DeepEqual(st.args, wantArgs) {
		t.Errorf("args = %v, want %v", st.args, wantArgs)
	}
	c := st.cfg.Config
	for _, check := range []struct {
		what      string
		got, want any
	}{
		{"Env", c.Env, []string{"PORT=8080", "NAME=x y"}},
		{"Labels", c.Labels, map[string]string{"a": "1", "b": "dflt"}},
		{"ExposedPorts", c.ExposedPorts, map[string]struct{}{"8080/tcp": {}, "53/udp": {}}},
		{"Volumes", c.Volumes, map[string]struct{}{"/data": {}, "/cache": {}}},
		{"User", c.User, "app"},
		{"StopSignal", c.StopSignal, "SIGINT"},
		{"Shell", c.Shell, []string{"/bin/bash", "-c"}},
		{"Cmd", c.Cmd, []string{"/bin/bash", "-c", "echo $NAME"}},
		{"Entrypoint", c.Entrypoint, []string{"tini", "--"}},
		{"Healthcheck.Test", c.Healthcheck.Test, []string{"CMD", "true"}},
		{"OnBuild", c.OnBuild, []string{"RUN make"}},
		{"Author", st.cfg.Author, "me"},
	} {
		if !reflect.DeepEqual(check.got, check.want) {
			t.Errorf("%s = %#v, want %#v", check.what, check.got, check.want)
		}
	}
	var history []string
	for _, a := range st.adds {
		history = append(history, a.History.CreatedBy)
	}
	want := []string{
		"ENV PORT=8080 NAME=x y", "LABEL a=1 b=dflt", "EXPOSE 8080 53/UDP", `VOLUME ["/data","/cache"]`,
		"USER app", "STOPSIGNAL SIGINT", `SHELL ["/bin/bash","-c"]`, `CMD ["/bin/bash","-c","echo $NAME"]`,
		`ENTRYPOINT ["tini","--"]`, `HEALTHCHECK ["CMD","true"]`, "ONBUILD RUN make", "MAINTAINER me",
	}
	if !reflect.DeepEqual(history, want) {
		t.Errorf("history =\n%q\nwant\n%q", history, want)
	}
}

func TestDispatchEntrypointDropsInheritedCmd(t *testing.T) {
	r, st := configRun(t, "FROM scratch\nENTRYPOINT [\"a\"]\n", nil)
	st.cfg.Config.Cmd = []string{"inherited"}
	if err := r.dispatch(t.Context(), st, r.df.stages[0].Commands[0]); err != nil {
		t.Fatal(err)
	}
	if st.cfg.Config.Cmd != nil {
		t.Errorf("Cmd = %q, want the base's dropped", st.cfg.Config.Cmd)
	}
	r, st = configRun(t, "FROM scratch\nCMD [\"c\"]\nENTRYPOINT [\"a\"]\n", nil)
	for _, cmd := range r.df.stages[0].Commands {
		if err := r.dispatch(t.Context(), st, cmd); err != nil {
			t.Fatal(err)
		}
	}
	if !reflect.DeepEqual(st.cfg.Config.Cmd, []string{"c"}) {
		t.Errorf("Cmd = %q, want this stage's kept", st.cfg.Config.Cmd)
	}
}

func TestDispatchErrorsNameTheLine(t *testing.T) {
	r, st := configRun(t, "FROM scratch\nENV E=1\nVOLUME [\"$NOPE\"]\n", nil)
	cmds := r.df.stages[0].Commands
	if err := r.dispatch(t.Context(), st, cmds[0]); err != nil {
		t.Fatal(err)
	}
	err := r.dispatch(t.Context(), st, cmds[1])
	if err == nil || !strings.Contains(err.Error(), "Dockerfile:3: VOLUME") || !strings.Contains(err.Error(), "can not be an empty string") {
		t.Errorf("empty VOLUME: %v", err)
	}
	if len(st.adds) != 1 {
		t.Errorf("%d history entries, want only ENV's", len(st.adds))
	}
}

func TestConfigInstructionUnsupported(t *testing.T) {
	r, st := configRun(t, "FROM scratch\nRUN true\n", nil)
	_, err := r.configInstruction(st, r.df.stages[0].Commands[0])
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "instruction RUN") {
		t.Errorf("configInstruction(RUN) = %v, want ErrUnsupported naming RUN", err)
	}
}

func TestFSSteps(t *testing.T) {
	df, err := parseDockerfile("Dockerfile", []byte("FROM scratch\nENV A=1\nRUN x\nCOPY a b\nADD c d\nWORKDIR /w\nLABEL l=1\n"))
	if err != nil {
		t.Fatal(err)
	}
	if n := fsSteps(df.stages[0].Commands); n != 4 {
		t.Errorf("fsSteps = %d, want 4 (RUN, COPY, ADD, WORKDIR)", n)
	}
	if n := fsSteps(nil); n != 0 {
		t.Errorf("fsSteps(nil) = %d", n)
	}
}
