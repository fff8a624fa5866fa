// Package runtime turns a service and its image config into an OCI runtime-spec config.json and drives an OCI runtime (crun or runc) through its CLI.
package runtime
