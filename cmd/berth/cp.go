package main

import (
	"errors"
	"strings"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/engine"
)

func newCpCmd(g *globalOptions) *cobra.Command {
	var o engine.CopyOptions
	cmd := &cobra.Command{
		Use:   "cp [OPTIONS] SERVICE:SRC_PATH DEST_PATH | SRC_PATH SERVICE:DEST_PATH",
		Short: "Copy files/folders between a service container and the local filesystem",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			svcSrc, srcPath, fromContainer := splitServicePath(args[0])
			svcDst, dstPath, toContainer := splitServicePath(args[1])
			switch {
			case fromContainer && toContainer:
				return errors.New("cp: copying between containers is not supported")
			case !fromContainer && !toContainer:
				return errors.New("cp: one of the paths must be SERVICE:PATH")
			case srcPath == "-" || dstPath == "-":
				return errors.New("cp: streaming a tar archive through - is not supported")
			}
			sel, eng, err := g.selectionAndEngine(ctx, nil)
			if err != nil {
				return err
			}
			if fromContainer {
				o.Service = svcSrc
				return eng.CopyFromContainer(ctx, sel.Project, o, srcPath, dstPath)
			}
			o.Service = svcDst
			return eng.CopyToContainer(ctx, sel.Project, o, srcPath, dstPath)
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.Index, "index", 0, "Index of the container if the service has several replicas (default: into every replica, out of the first)")
	f.BoolVarP(&o.KeepOwner, "archive", "a", false, "Archive mode (copy all uid/gid information)")
	f.BoolVarP(&o.FollowLink, "follow-link", "L", false, "Always follow symbol link in SRC_PATH")
	return cmd
}

// splitServicePath reads SERVICE:PATH as Docker's cp does; a path starting
// with / or . (./file:name) is local.
func splitServicePath(s string) (service, p string, ok bool) {
	if strings.HasPrefix(s, "/") || strings.HasPrefix(s, ".") {
		return "", s, false
	}
	service, p, ok = strings.Cut(s, ":")
	if !ok || service == "" {
		return "", s, false
	}
	return service, p, true
}
