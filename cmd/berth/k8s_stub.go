//go:build !k8s

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

// newK8sRoot is `berth k8s` in the berth binary: it hands the whole
// command line to berth-k8s (see k8s_plugin.go), completions included.
func newK8sRoot(*globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:                k8sUse,
		Short:              k8sShort,
		Long:               k8sLong + "\n\nThese commands are in " + k8sPlugin + ", installed beside berth.",
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			bin, err := findK8sPlugin()
			if err != nil {
				return err
			}
			return syscall.Exec(bin, append([]string{bin}, os.Args[1:]...), os.Environ())
		},
		ValidArgsFunction: func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			bin, err := findK8sPlugin()
			if err != nil {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			out, err := exec.CommandContext(cmd.Context(), bin, k8sCompleteArgs(os.Args[1:], args, toComplete)...).Output()
			if err != nil {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			return parseCompletions(out)
		},
	}
}

// k8sCompleteArgs is the command line of berth-k8s's __complete for the
// words after `k8s` (args, then the word being completed): the words of
// berth's own line up to `k8s` (__complete and any global flags) first.
func k8sCompleteArgs(line, args []string, toComplete string) []string {
	var out []string
	for i, w := range line {
		if w == "k8s" {
			out = append(out, line[:i+1]...)
			break
		}
	}
	if out == nil {
		out = []string{cobra.ShellCompRequestCmd, "k8s"}
	}
	out = append(out, args...)
	return append(out, toComplete)
}

// findK8sPlugin finds berth-k8s beside the running berth (symlinks
// resolved), else on PATH.
func findK8sPlugin() (string, error) {
	var beside string
	if exe, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			exe = real
		}
		beside = filepath.Join(filepath.Dir(exe), k8sPlugin)
		if fi, err := os.Stat(beside); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return beside, nil
		}
	}
	if p, err := exec.LookPath(k8sPlugin); err == nil {
		return p, nil
	}
	where := "beside berth"
	if beside != "" {
		where = "at " + beside
	}
	return "", fmt.Errorf("berth k8s: the Kubernetes commands are in %s, which is neither %s nor on PATH: `make build` makes bin/%s; install it beside berth", k8sPlugin, where, k8sPlugin)
}

// parseCompletions reads cobra's __complete output: one completion per
// line, then ":<directive>".
func parseCompletions(out []byte) ([]cobra.Completion, cobra.ShellCompDirective) {
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) == 0 || !strings.HasPrefix(lines[len(lines)-1], ":") {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	d, err := strconv.Atoi(strings.TrimPrefix(lines[len(lines)-1], ":"))
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var comps []cobra.Completion
	for _, l := range lines[:len(lines)-1] {
		if l != "" {
			comps = append(comps, l)
		}
	}
	return comps, cobra.ShellCompDirective(d)
}
