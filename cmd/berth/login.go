package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/engine"
)

// newLoginCmd is `docker login`: check the credentials with the registry,
// then keep them where Docker does (a credential helper, else
// ~/.docker/config.json).
func newLoginCmd(g *globalOptions) *cobra.Command {
	var user, password string
	var passwordStdin bool
	cmd := &cobra.Command{
		Use:   "login [OPTIONS] [SERVER]",
		Short: "Log in to a registry (Docker Hub when no server is given)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			server := engine.DefaultRegistryServer
			if len(args) == 1 {
				server = engine.RegistryServerAddress(args[0])
			}
			if password != "" {
				fmt.Fprintln(g.stderr, "WARNING! Using --password via the CLI is insecure. Use --password-stdin.")
				if passwordStdin {
					return errors.New("--password and --password-stdin are mutually exclusive")
				}
			}
			if passwordStdin {
				if user == "" {
					return errors.New("must provide --username with --password-stdin")
				}
				b, err := io.ReadAll(io.LimitReader(g.stdin, 1<<20))
				if err != nil {
					return err
				}
				password = strings.TrimRight(string(b), "\r\n")
			}
			f, err := engine.LoadCredentials("")
			if err != nil {
				return err
			}
			cfg, err := engine.LoadRegistryConfig()
			if err != nil {
				return err
			}
			insecure := cfg.IsInsecure(server)
			if user == "" && password == "" {
				// Docker tries what is stored first.
				if u, p, err := f.Get(server); err == nil && u != "" && p != "" {
					if err := engine.VerifyLogin(cmd.Context(), server, u, p, insecure); err == nil {
						fmt.Fprintln(g.stdout, "Authenticating with existing credentials...")
						fmt.Fprintln(g.stdout, "Login Succeeded")
						return nil
					}
				}
			}
			if user == "" || password == "" {
				if user, password, err = prompt(g, server, user); err != nil {
					return err
				}
			}
			if err := engine.VerifyLogin(cmd.Context(), server, user, password, insecure); err != nil {
				return err
			}
			if err := f.Store(server, user, password); err != nil {
				return err
			}
			if f.Helper(server) == "" {
				fmt.Fprintf(g.stderr, "WARNING! Your password will be stored unencrypted in %s.\nConfigure a credential helper to remove this warning. See\nhttps://docs.docker.com/go/credential-store/\n\n", f.Path())
			}
			fmt.Fprintln(g.stdout, "Login Succeeded")
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&user, "username", "u", "", "Username")
	fl.StringVarP(&password, "password", "p", "", "Password or Personal Access Token (PAT)")
	fl.BoolVar(&passwordStdin, "password-stdin", false, "Take the Password or Personal Access Token (PAT) from stdin")
	return cmd
}

// prompt asks for what the flags did not give, on a terminal only; the
// password is read without echo.
func prompt(g *globalOptions, server, user string) (string, string, error) {
	in, ok := g.stdin.(*os.File)
	if !ok || !isTerminal(in) {
		return "", "", errors.New("cannot perform an interactive login from a non TTY device: use -u USER --password-stdin")
	}
	r := bufio.NewReader(in)
	if user == "" {
		fmt.Fprintf(g.stdout, "Username (for %s): ", server)
		line, err := r.ReadString('\n')
		if err != nil {
			return "", "", err
		}
		if user = strings.TrimSpace(line); user == "" {
			return "", "", errors.New("username is required")
		}
	}
	fmt.Fprint(g.stdout, "Password: ")
	fd := int(in.Fd())
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return "", "", err
	}
	noEcho := *old
	noEcho.Lflag &^= unix.ECHO
	noEcho.Lflag |= unix.ICANON | unix.ISIG
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &noEcho); err != nil {
		return "", "", err
	}
	line, err := r.ReadString('\n')
	_ = unix.IoctlSetTermios(fd, unix.TCSETS, old)
	fmt.Fprintln(g.stdout)
	if err != nil {
		return "", "", err
	}
	password := strings.TrimRight(line, "\r\n")
	if password == "" {
		return "", "", errors.New("password is required")
	}
	return user, password, nil
}

// newLogoutCmd is `docker logout`.
func newLogoutCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "logout [SERVER]",
		Short: "Log out from a registry (Docker Hub when no server is given)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			server := engine.DefaultRegistryServer
			if len(args) == 1 {
				server = engine.RegistryServerAddress(args[0])
			}
			f, err := engine.LoadCredentials("")
			if err != nil {
				return err
			}
			err = f.Erase(server)
			if errors.Is(err, engine.ErrNotLoggedIn) {
				fmt.Fprintf(g.stdout, "Not logged in to %s\n", server)
				return nil
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "Removing login credentials for %s\n", server)
			return nil
		},
	}
}
