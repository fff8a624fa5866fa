// Package watch is the pure and the host-side half of `berth watch`
// (Compose's develop.watch): rules compiled from a service's develop
// section (path, target, include, ignore, the build context's
// .dockerignore, editor temp files and .git), a recursive inotify watcher
// of the host trees (fsnotify), a batcher that turns bursts of events
// into one batch, and the plan of one batch: per service, rebuild, the
// files to sync, restart, exec hooks. Carrying a plan out (writing into
// containers, restarting, rebuilding) is the engine's.
//
// It imports no berth package and must import none: the engine carries
// plans out.
package watch
