// Package initproc is the minimal init berth runs as a container's PID 1 for
// `init: true`: it starts the command, forwards signals to it, reaps every
// zombie, and exits with the command's exit code.
//
// It imports no berth package and must import none: it runs inside
// containers as PID 1.
package initproc
