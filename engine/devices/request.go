package devices

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"tags.cncf.io/container-device-interface/pkg/parser"
)

// ErrNoGPU says a service asks for a GPU the host does not have.
var ErrNoGPU = errors.New("no NVIDIA GPU")

// ErrUnknownDevice says a service asks for a CDI device no spec provides.
var ErrUnknownDevice = errors.New("unknown CDI device")

// IsCDIName says whether a `devices:` source is a CDI device name
// (vendor.com/class=name) rather than a host path.
func IsCDIName(s string) bool { return parser.IsQualifiedName(s) }

// request is one device request of a service, normalized.
type request struct {
	field string // where it came from, for messages
	names []string
	gpu   *types.DeviceRequest // a GPU request still to be turned into names
}

// requests lists the service's device requests: `devices:` CDI names,
// `gpus:` and `deploy.resources.reservations.devices`, as Docker reads
// them: driver "cdi" takes CDI names in device_ids; driver "nvidia", or no
// driver with capability "gpu", asks for NVIDIA GPUs (count: all|N, or
// device_ids: indices or UUIDs); anything else is an error.
func requests(svc *types.ServiceConfig) ([]request, error) {
	var out []request
	for _, d := range svc.Devices {
		if !IsCDIName(d.Source) {
			continue
		}
		if d.Target != "" && d.Target != d.Source {
			return nil, fmt.Errorf("devices: %s: a CDI device takes no container path (%s)", d.Source, d.Target)
		}
		if d.Permissions != "" && d.Permissions != "rwm" {
			return nil, fmt.Errorf("devices: %s: a CDI device takes no permissions (%s): its spec sets them", d.Source, d.Permissions)
		}
		out = append(out, request{field: "devices", names: []string{d.Source}})
	}
	for i := range svc.Gpus {
		g := svc.Gpus[i]
		field := "gpus"
		if len(svc.Gpus) > 1 {
			field = fmt.Sprintf("gpus[%d]", i)
		}
		r, err := deviceRequest(field, g, true)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	if svc.Deploy != nil && svc.Deploy.Resources.Reservations != nil {
		for i, dr := range svc.Deploy.Resources.Reservations.Devices {
			r, err := deviceRequest(fmt.Sprintf("deploy.resources.reservations.devices[%d]", i), dr, false)
			if err != nil {
				return nil, err
			}
			out = append(out, r)
		}
	}
	return out, nil
}

func deviceRequest(field string, dr types.DeviceRequest, gpus bool) (request, error) {
	driver := strings.ToLower(dr.Driver)
	gpu := gpus || slices.Contains(dr.Capabilities, "gpu")
	switch {
	case driver == "cdi":
		if len(dr.IDs) == 0 {
			return request{}, fmt.Errorf("%s: driver cdi needs device_ids (CDI names such as vendor.com/class=name)", field)
		}
		for _, id := range dr.IDs {
			if !IsCDIName(id) {
				return request{}, fmt.Errorf("%s: device_ids: %q is not a CDI device name (vendor.com/class=name)", field, id)
			}
		}
		return request{field: field, names: dr.IDs}, nil
	case driver == "nvidia" || (driver == "" && gpu):
		if len(dr.IDs) > 0 && dr.Count != 0 && dr.Count != -1 {
			return request{}, fmt.Errorf("%s: count and device_ids cannot be used together", field)
		}
		for _, id := range dr.IDs {
			if id == "" || strings.ContainsAny(id, "=/ ,") {
				return request{}, fmt.Errorf("%s: device_ids: %q is not a GPU index or UUID", field, id)
			}
		}
		if dr.Count < -1 {
			return request{}, fmt.Errorf("%s: count %d: want all or a number", field, dr.Count)
		}
		return request{field: field, gpu: &dr}, nil
	default:
		return request{}, fmt.Errorf("%s: no device driver for driver %q with capabilities %v: berth knows driver nvidia (or capabilities [gpu]) and driver cdi", field, dr.Driver, dr.Capabilities)
	}
}

// Wants says whether the service asks for any CDI device (and so needs a
// Registry), checking the requests' form only.
func Wants(svc *types.ServiceConfig) (bool, error) {
	rs, err := requests(svc)
	if err != nil {
		return false, fmt.Errorf("service %q: %w", svc.Name, err)
	}
	return len(rs) > 0, nil
}

// Resolve turns the service's device requests into the qualified CDI
// names to inject, each known to the registry, deduplicated in request
// order. A GPU request on a host without one fails with ErrNoGPU, naming
// the service, the field, and what is missing.
func (r *Registry) Resolve(svc *types.ServiceConfig) ([]string, error) {
	rs, err := requests(svc)
	if err != nil {
		return nil, fmt.Errorf("service %q: %w", svc.Name, err)
	}
	var names []string
	add := func(n string) {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	for _, rq := range rs {
		if rq.gpu != nil {
			gn, err := r.gpuNames(rq)
			if err != nil {
				return nil, fmt.Errorf("service %q: %w", svc.Name, err)
			}
			rq.names = gn
		}
		for _, n := range rq.names {
			if !r.Has(n) {
				return nil, fmt.Errorf("service %q: %w", svc.Name, r.unknown(rq.field, n))
			}
			add(n)
		}
	}
	return names, nil
}

func (r *Registry) gpuNames(rq request) ([]string, error) {
	if !r.hasKind(NVIDIAKind) {
		return nil, r.noGPU(rq.field)
	}
	g := rq.gpu
	switch {
	case len(g.IDs) > 0:
		var out []string
		for _, id := range g.IDs {
			out = append(out, NVIDIAKind+"="+id)
		}
		return out, nil
	case g.Count == -1:
		return []string{NVIDIAKind + "=all"}, nil
	case g.Count == 0:
		return nil, nil
	}
	idx := r.gpuIndices()
	if int(g.Count) > len(idx) {
		return nil, fmt.Errorf("%s: count %d, but this host has %d GPU(s) (%s)", rq.field, g.Count, len(idx), strings.Join(idx, ", "))
	}
	var out []string
	for _, i := range idx[:g.Count] {
		out = append(out, NVIDIAKind+"="+i)
	}
	return out, nil
}

func (r *Registry) noGPU(field string) error {
	why := "no NVIDIA driver"
	if r.noNVIDIA != nil {
		why = strings.TrimPrefix(r.noNVIDIA.Error(), ErrNoNVIDIADriver.Error()+": ")
	}
	return fmt.Errorf("%s: %w on this host: no CDI spec provides %s in %s, and no NVIDIA driver was found (%s)",
		field, ErrNoGPU, NVIDIAKind, strings.Join(r.dirs, ", "), why)
}

func (r *Registry) unknown(field, name string) error {
	known := r.Devices()
	list := "none"
	if len(known) > 0 {
		list = strings.Join(known, ", ")
	}
	return fmt.Errorf("%s: %w %s: no CDI spec in %s provides it (known: %s)%s",
		field, ErrUnknownDevice, name, strings.Join(r.dirs, ", "), list, r.specErrors())
}

// Warnings says what of the service's GPU requests berth accepts but does
// not use: driver options (the NVIDIA spec mounts the whole driver, and
// a CDI spec has no options).
func Warnings(svc *types.ServiceConfig) []string {
	rs, err := requests(svc)
	if err != nil {
		return nil
	}
	var w []string
	for _, r := range rs {
		if r.gpu != nil && len(r.gpu.Options) > 0 {
			w = append(w, fmt.Sprintf("%s: options are not used (berth gives the container the whole NVIDIA driver through CDI)", r.field))
		}
	}
	return w
}
