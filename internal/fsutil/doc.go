// Package fsutil holds berth's filesystem primitives.
//
// It owns atomic, durable file writes (temp file, fsync, rename, fsync of
// the directory), JSON records read and written that way, cross-process
// locks (flock), directories made or tightened to an exact mode, and the
// apparent size of a tree. Every package that keeps files on disk uses
// these; none of them needs another's records to do so.
//
// It is a leaf: it imports the standard library, x/sys and renameio only,
// never a berth package.
package fsutil
