//go:build !k8s

package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// The berth binary's `k8s` runs berth-k8s; without one beside it or on
// PATH the command says where it looked and how to get it.
func TestK8sPluginMissing(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, errs, code := berth(t, t.TempDir(), "k8s", "render")
	if code == 0 || !strings.Contains(errs, "berth-k8s") || !strings.Contains(errs, "make build") {
		t.Errorf("k8s render without berth-k8s: code %d, stderr %q; want an error naming berth-k8s and make build", code, errs)
	}
}

func TestK8sCompleteArgs(t *testing.T) {
	for _, tc := range []struct {
		line, args []string
		word       string
		want       []string
	}{
		{[]string{"__complete", "k8s", "up", "--na"}, []string{"up"}, "--na", []string{"__complete", "k8s", "up", "--na"}},
		{[]string{"__complete", "-p", "x", "k8s", "--"}, nil, "", []string{"__complete", "-p", "x", "k8s", ""}},
		{[]string{"weird"}, []string{"logs"}, "w", []string{"__complete", "k8s", "logs", "w"}},
	} {
		if got := k8sCompleteArgs(tc.line, tc.args, tc.word); !slices.Equal(got, tc.want) {
			t.Errorf("k8sCompleteArgs(%q, %q, %q) = %q, want %q", tc.line, tc.args, tc.word, got, tc.want)
		}
	}
}

func TestParseCompletions(t *testing.T) {
	comps, d := parseCompletions([]byte("down\tDelete\nup\tApply\n:4\n"))
	if !slices.Equal(comps, []cobra.Completion{"down\tDelete", "up\tApply"}) || d != cobra.ShellCompDirectiveNoFileComp {
		t.Errorf("got %q %d", comps, d)
	}
	if comps, d := parseCompletions([]byte("garbage")); comps != nil || d != cobra.ShellCompDirectiveNoFileComp {
		t.Errorf("garbage: got %q %d", comps, d)
	}
}
