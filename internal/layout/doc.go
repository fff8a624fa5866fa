// Package layout is the one home of berth's on-disk layout.
//
// It owns the state root and run dir (BERTH_ROOT, BERTH_RUN, their
// defaults), the names of what lies in them (containers, networks, image,
// volumes, build-cache, runtime, locks, netns, config.yaml) and the modes
// that keep them private. Every package asks a Layout for a path instead
// of joining names of its own; a package that owns a corner (image,
// volumes, network/ipam) is handed that corner's path.
//
// It is a leaf: it imports the standard library and internal/fsutil only.
package layout
