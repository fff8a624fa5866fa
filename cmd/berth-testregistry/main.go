// Command berth-testregistry serves berth's standard test images
// (busybox:latest, httpecho:latest, tcpecho:latest, logger:latest) from a
// registry on 127.0.0.1, for examples and manual testing, until SIGINT or
// SIGTERM:
//
//	berth-testregistry [--addr 127.0.0.1:5000] [--print-env]
//	berth-testregistry --save DIR
//
// Each image is served as ADDR/NAME and ADDR/library/NAME, so the registry
// can stand in for docker.io: --print-env prints
// BERTH_REGISTRY_MIRRORS=docker.io=ADDR on stdout (the only line there),
// with which `image: busybox` resolves to it.
//
// With --save DIR it serves nothing: it writes each image as a docker-save
// tarball DIR/<name>.tar (tagged busybox:latest, …) for
// `berth image load -i`, and exits. --save also writes DIR/golang.tar,
// golang:local: busybox plus the host's Go toolchain and a warm build
// cache (testimages.Golang), the base that examples/buildstack compiles
// its programs with. It is not served: it is big, and the first run on a
// machine spends some fifteen seconds making it (later runs reuse it).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/berth-dev/berth/internal/testimages"
	"github.com/berth-dev/berth/internal/testregistry"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("berth-testregistry", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:5000", "address to listen on (port 0 picks a free one)")
	save := fs.String("save", "", "write each image as a docker-save tarball DIR/<name>.tar and exit")
	printEnv := fs.Bool("print-env", false, "print BERTH_REGISTRY_MIRRORS=docker.io=ADDR on stdout")
	verbose := fs.Bool("v", false, "log every request on stderr")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "berth-testregistry: unexpected arguments %q\n", fs.Args())
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if *save != "" {
		if err := saveAll(*save, stdout); err != nil {
			fmt.Fprintf(stderr, "berth-testregistry: %v\n", err)
			return 1
		}
		return 0
	}

	opts := []testregistry.Opt{testregistry.WithAddr(*addr)}
	if *verbose {
		opts = append(opts, testregistry.WithLog(stderr))
	}
	reg, err := testregistry.Start(ctx, opts...)
	if err != nil {
		fmt.Fprintf(stderr, "berth-testregistry: %v\n", err)
		return 1
	}
	defer reg.Close()
	refs, err := reg.PushStandard(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "berth-testregistry: %v\n", err)
		return 1
	}
	if *printEnv {
		fmt.Fprintln(stdout, reg.MirrorEnv())
	}
	names := make([]string, 0, len(refs))
	for _, r := range refs {
		names = append(names, r)
	}
	sort.Strings(names)
	fmt.Fprintf(stderr, "berth-testregistry: serving on %s until interrupted:\n  %s\n  (also as %s/library/NAME; %s)\n",
		reg.Addr(), strings.Join(names, "\n  "), reg.Addr(), reg.MirrorEnv())
	<-ctx.Done()
	return 0
}

// saveAll writes every standard image, and the Go toolchain image, to
// dir/<name>.tar.
func saveAll(dir string, stdout io.Writer) error {
	imgs, err := testimages.Standard()
	if err != nil {
		return err
	}
	if imgs[testimages.GolangName], err = testimages.Golang(); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("--save %s: %w", dir, err)
	}
	names := make([]string, 0, len(imgs))
	for n := range imgs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		tag, err := name.NewTag(n)
		if err != nil {
			return fmt.Errorf("%s: %w", n, err)
		}
		file := filepath.Join(dir, strings.SplitN(n, ":", 2)[0]+".tar")
		tmp := file + ".tmp"
		if err := tarball.WriteToFile(tmp, tag, imgs[n]); err != nil {
			os.Remove(tmp)
			return fmt.Errorf("save %s to %s: %w", n, file, err)
		}
		if err := os.Rename(tmp, file); err != nil {
			return fmt.Errorf("save %s: %w", n, err)
		}
		fmt.Fprintln(stdout, file)
	}
	return nil
}
