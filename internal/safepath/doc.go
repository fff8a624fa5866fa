// Package safepath resolves host paths beneath a root that something
// untrusted can write (a volume a container mounts) without following a
// symlink, and hands them to the runtime as bind mounts of the opened file
// descriptors, so that the path cannot be swapped between the check and
// the mount (design decision 10). It is the idea of moby's
// daemon/volume/safepath: open each component with openat2
// RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS, bind-mount /proc/self/fd/N on a
// staging path only root reaches, give that path to runc, and unmount it
// once runc has made its own copy in the container's mount namespace.
//
// It imports no berth package and must import none.
package safepath
