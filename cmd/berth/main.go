// Command berth is a daemonless, Compose-compatible multi-container
// orchestrator: `berth up` in a directory holding compose.yaml runs the
// project's services, `berth down` takes them away.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/berth-dev/berth/engine"
)

func main() {
	// As a container's init, berth must own every signal itself.
	if len(os.Args) > 1 && os.Args[1] == "__init" {
		args := os.Args[2:]
		if len(args) > 0 && args[0] == "--" {
			args = args[1:]
		}
		os.Exit(engine.InitMain(args))
	}
	// BERTH_CPUPROFILE=FILE profiles one command (for `make bench` work).
	if path := os.Getenv("BERTH_CPUPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil {
			pprof.StartCPUProfile(f)
			code := run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
			pprof.StopCPUProfile()
			f.Close()
			os.Exit(code)
		}
	}
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run executes the CLI and returns the process exit code. A first SIGINT or
// SIGTERM cancels the command's context (graceful); a second cancels the
// force context (commands that were stopping gracefully kill instead); a
// third exits 130 at once.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	force, forceCancel := context.WithCancel(context.Background())
	defer forceCancel()
	sigs := make(chan os.Signal, 3)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		n := 0
		for range sigs {
			n++
			switch n {
			case 1:
				cancel()
			case 2:
				forceCancel()
			default:
				fmt.Fprintln(stderr, "berth: killed by third interrupt")
				os.Exit(130)
			}
		}
	}()

	setupLogging(stderr)
	root := newRootCmd(stdin, stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(context.WithValue(ctx, forceKey{}, force))
	if err == nil {
		return 0
	}
	var ec *exitCodeError
	if errors.As(err, &ec) {
		if ec.err != nil {
			fmt.Fprintf(stderr, "berth: %v\n", ec.err)
		}
		return ec.code
	}
	fmt.Fprintf(stderr, "berth: %v\n", err)
	if ctx.Err() != nil {
		return 130
	}
	return 1
}

type forceKey struct{}

// forceContext is canceled by a second interrupt.
func forceContext(ctx context.Context) context.Context {
	if f, ok := ctx.Value(forceKey{}).(context.Context); ok {
		return f
	}
	return context.Background()
}

// exitCodeError carries a specific exit code to main (for `run`, `exec`,
// `up --exit-code-from`); err, when set, is printed first.
type exitCodeError struct {
	code int
	err  error
}

func (e *exitCodeError) Error() string {
	if e.err != nil {
		return e.err.Error()
	}
	return fmt.Sprintf("exit code %d", e.code)
}
