// Package volumes turns named volumes, bind mounts and tmpfs into runtime-spec mounts and manages named volumes on disk.
package volumes
