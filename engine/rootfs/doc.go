// Package rootfs mounts a container's root filesystem: an overlay of its
// image's unpacked layers (shared, read-only) under the container's own
// upper and work dirs.
//
// It imports no berth package and must import none: the engine passes the
// layer dirs it got from engine/image.
package rootfs
