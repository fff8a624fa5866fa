// Package volumes manages named volumes on disk and turns named volumes,
// bind mounts and tmpfs into runtime-spec mounts.
//
// A named volume lives at <root>/<name>/_data with its record in
// <root>/<name>/volume.json, written atomically under a per-volume flock
// (<root>/.locks/<name>.lock). Only the local driver exists: plain
// directories, binds of a host directory (driver_opts type=none, o=bind,
// device=PATH) and filesystems mounted at _data on first use (type=tmpfs,
// …), unmounted by Remove.
//
// Manager.Mounts is the engine's entry point: from a service's volumes,
// tmpfs and the image's VOLUMEs it creates what is missing, fills a new
// volume from the image's content at the target (copy-up, read through
// os.Root so that no symlink leads out of the rootfs), and returns the
// mounts ordered parents first, with the volumes used.
//
// It imports internal packages only (fsutil, layout, names, safepath); it
// must import nothing under engine/ (volumes/deps_test.go).
package volumes
