// Package archive copies files between a container's filesystem and the
// host for `berth cp`, in both directions, with Docker's cp semantics and
// none of its trust in the container.
//
// The container side is an open directory (the container's root, seen
// through /proc/PID/root or its rootfs mount): every container path is
// resolved beneath it, with symlinks, absolute or relative, resolved
// against that root (openat2 RESOLVE_IN_ROOT). The host side follows symlinks only in the argument the
// user gave; below it, every entry is created from an open parent
// directory with O_NOFOLLOW|O_EXCL, and an existing non-directory is
// unlinked and replaced, never written through. Only regular files are
// opened as data; directories are read as directories; symlinks, FIFOs
// and device nodes are recreated as what they are (devices only by root,
// and a device copied out of a container is left to root alone), never
// opened. The walk does not enter pseudo filesystems (/proc, /sys, ...)
// beneath the source.
//
// It imports no berth package and must import none: the engine hands it an
// open root.
package archive
