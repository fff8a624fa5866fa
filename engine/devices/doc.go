// Package devices turns a service's device requests into Container Device
// Interface (CDI) device names and resolves them against the host.
//
// Every device a container gets beyond plain `devices:` nodes goes through
// CDI: `devices:` entries that are CDI names (`vendor.com/class=name`),
// `gpus:` and `deploy.resources.reservations.devices` (capabilities
// [gpu], driver nvidia or cdi) all become qualified CDI names, injected into
// the OCI spec by the CNCF library (tags.cncf.io/container-device-interface)
// from the spec dirs (/etc/cdi, /var/run/cdi; BERTH_CDI_SPEC_DIRS overrides).
//
// Where no spec names nvidia.com/gpu but the host has an NVIDIA driver
// (/dev/nvidiactl and libnvidia-ml.so.1 in the linker cache), the Registry
// generates that spec from a discovery of its own (nvidia.go): device nodes,
// driver libraries of the driver's version, and its binaries. The host root
// of that discovery is an option, so tests run it on a fake tree.
//
// The package reads the host; it never creates anything but the generated
// spec file under the run dir.
//
// It imports no berth package and must import none above it: the engine
// passes the service and applies the names to the spec.
package devices
