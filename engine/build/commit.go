package build

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// `commit`'s half of the builder: a container's changes (its overlay upper
// directory) as a layer, and Docker's `--change` instructions applied to
// an image config.

// UpperLayer writes the changes in upper (an overlay upper directory:
// whiteouts and opaque directories become OCI whiteouts) to a layer file
// in scratch and returns it; nil when upper holds no change. The caller
// keeps the container from changing upper meanwhile (commit pauses it).
func UpperLayer(ctx context.Context, upper, scratch string) (v1.Layer, error) {
	f, err := os.CreateTemp(scratch, "commit-*.tar")
	if err != nil {
		return nil, err
	}
	tw := tar.NewWriter(f)
	n, err := writeLayerTar(ctx, tw, upper)
	if err == nil {
		err = tw.Close()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil || n == 0 {
		os.Remove(f.Name())
		if err != nil {
			return nil, fmt.Errorf("commit layer: %w", err)
		}
		return nil, nil
	}
	name := f.Name()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return os.Open(name) })
}

// changeInstructions are the instructions `docker commit --change` takes.
var changeInstructions = map[string]bool{
	"cmd": true, "entrypoint": true, "env": true, "expose": true, "label": true,
	"onbuild": true, "user": true, "volume": true, "workdir": true, "stopsignal": true,
}

// ApplyChanges applies Docker's `--change` instructions ("ENV DEBUG=true",
// `CMD ["sh"]`) to cfg, as `docker commit -c` does; any other instruction
// is refused by name.
func ApplyChanges(cfg *v1.Config, changes []string) error {
	for _, change := range changes {
		res, err := parser.Parse(strings.NewReader(change))
		if err != nil {
			return fmt.Errorf("--change %q: %w", change, err)
		}
		for _, node := range res.AST.Children {
			if !changeInstructions[strings.ToLower(node.Value)] {
				return fmt.Errorf("--change %q: %s is not a valid change command", change, strings.ToUpper(node.Value))
			}
			cmd, err := instructions.ParseCommand(node)
			if err != nil {
				return fmt.Errorf("--change %q: %w", change, err)
			}
			if err := applyChange(cfg, cmd); err != nil {
				return fmt.Errorf("--change %q: %w", change, err)
			}
		}
	}
	return nil
}

func applyChange(c *v1.Config, cmd instructions.Command) error {
	shellForm := func(l instructions.ShellDependantCmdLine) []string {
		if !l.PrependShell {
			return append([]string(nil), l.CmdLine...)
		}
		shell := c.Shell
		if len(shell) == 0 {
			shell = []string{"/bin/sh", "-c"}
		}
		return append(append([]string(nil), shell...), strings.Join(l.CmdLine, " "))
	}
	switch cmd := cmd.(type) {
	case *instructions.EnvCommand:
		for _, kv := range cmd.Env {
			c.Env = setEnv(c.Env, kv.Key, kv.Value)
		}
	case *instructions.LabelCommand:
		if c.Labels == nil {
			c.Labels = map[string]string{}
		}
		for _, kv := range cmd.Labels {
			c.Labels[kv.Key] = kv.Value
		}
	case *instructions.UserCommand:
		c.User = cmd.User
	case *instructions.ExposeCommand:
		if c.ExposedPorts == nil {
			c.ExposedPorts = map[string]struct{}{}
		}
		for _, p := range cmd.Ports {
			if !strings.Contains(p, "/") {
				p += "/tcp"
			}
			c.ExposedPorts[strings.ToLower(p)] = struct{}{}
		}
	case *instructions.VolumeCommand:
		if c.Volumes == nil {
			c.Volumes = map[string]struct{}{}
		}
		for _, v := range cmd.Volumes {
			c.Volumes[v] = struct{}{}
		}
	case *instructions.StopSignalCommand:
		c.StopSignal = cmd.Signal
	case *instructions.OnbuildCommand:
		c.OnBuild = append(c.OnBuild, cmd.Expression)
	case *instructions.CmdCommand:
		c.Cmd = shellForm(cmd.ShellDependantCmdLine)
	case *instructions.EntrypointCommand:
		c.Entrypoint = shellForm(cmd.ShellDependantCmdLine)
	case *instructions.WorkdirCommand:
		p := cmd.Path
		if !path.IsAbs(p) {
			p = path.Join("/", c.WorkingDir, p)
		}
		c.WorkingDir = path.Clean(p)
	default:
		return fmt.Errorf("%s is not a valid change command", strings.ToUpper(cmd.Name()))
	}
	return nil
}
