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
	"syscall"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run executes the CLI and returns the process exit code. A first SIGINT or
// SIGTERM cancels the command's context (graceful); a second one exits 130
// at once.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		n := 0
		for range sigs {
			n++
			if n == 1 {
				cancel()
				continue
			}
			fmt.Fprintln(stderr, "berth: killed by second interrupt")
			os.Exit(130)
		}
	}()

	root := newRootCmd(stdin, stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
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
