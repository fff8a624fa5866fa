// Package rootfs mounts a container's root filesystem: an overlay of its
// image's unpacked layers (shared, read-only) under the container's own
// upper and work dirs.
package rootfs
