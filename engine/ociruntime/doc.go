// Package ociruntime makes OCI runtime specs and drives an OCI runtime.
//
// It turns a service and its image config into a runtime-spec
// config.json and drives an OCI runtime (crun or runc) through its CLI.
//
// Spec generation is a list of small SpecOpt options applied in order over
// Docker's defaults (NewSpec, WithDefaults); Generate composes them for one
// container of a compose service with Docker's semantics (entrypoint and
// command, env, user, capabilities, seccomp, mounts, limits, cgroups).
//
// The driver is the Runtime interface; CLI implements it for runc, crun and
// youki, and Detect picks one (crun only when a probe shows it works on the
// host). The runtime is never assumed to be the containers' parent: exit
// codes come from the caller's wait4 as a child subreaper. Every driver
// passes the conformance suite in runtimetest. The init for `init: true`
// lives in initproc.
//
// It imports internal/fsutil only of berth's packages; it must not import
// package engine, the supervisor or the image store, which call it.
package ociruntime
