package translate

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/compose-spec/compose-go/v2/types"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"
)

// maxConfigMapData keeps a ConfigMap or Secret under the API's 1 MiB
// object limit, with room for its metadata.
const maxConfigMapData = 1000 << 10

// defaultClaimSize is what a PersistentVolumeClaim asks for: compose
// volumes have no size.
const defaultClaimSize = "1Gi"

// podVolumes is what a service mounts.
type podVolumes struct {
	volumes []corev1.Volume
	mounts  []corev1.VolumeMount
	claims  []corev1.PersistentVolumeClaim // a StatefulSet's claim templates
	rwo     bool                           // mounts a ReadWriteOnce claim shared by no other service
}

func (pv *podVolumes) add(v corev1.Volume) {
	for _, have := range pv.volumes {
		if have.Name == v.Name {
			return
		}
	}
	pv.volumes = append(pv.volumes, v)
}

// volumes maps a service's volumes, tmpfs, configs and secrets.
func (t *translator) volumes(name string, s types.ServiceConfig, kind string) podVolumes {
	var pv podVolumes
	var notes []string
	for i, v := range s.Volumes {
		mount, vnotes, ok := t.serviceVolume(name, i, v, kind, &pv)
		if !ok {
			continue
		}
		notes = append(notes, vnotes...)
		pv.mounts = append(pv.mounts, mount)
	}
	if len(s.Volumes) > 0 && len(notes) > 0 {
		t.approx(svcKey(name, "volumes"), "%s", strings.Join(notes, "; "))
	}
	for i, tm := range s.Tmpfs {
		vol, mount := tmpfsListVolume(i, tm)
		pv.add(vol)
		pv.mounts = append(pv.mounts, mount)
	}
	if len(s.Tmpfs) > 0 {
		t.approx(svcKey(name, "tmpfs"), "memory-backed emptyDir volumes (size kept as sizeLimit; mode and other options dropped)")
	}
	t.volumesFrom(name, s, &pv)
	if s.VolumeDriver != "" {
		t.dropped(svcKey(name, "volume_driver"), "storage comes from the PVC's storage class")
	}
	t.fileRefs(name, s, &pv)
	return pv
}

// serviceVolume maps entry i of a service's volumes to a mount, adding
// the pod volume it needs to pv, with the notes for the report; ok is
// false when the entry was refused.
func (t *translator) serviceVolume(name string, i int, v types.ServiceVolumeConfig, kind string, pv *podVolumes) (mount corev1.VolumeMount, notes []string, ok bool) {
	mount = corev1.VolumeMount{MountPath: v.Target, ReadOnly: v.ReadOnly}
	switch v.Type {
	case types.VolumeTypeVolume:
		return t.namedVolume(name, i, v, kind, mount, pv)
	case types.VolumeTypeTmpfs:
		mount.Name = fmt.Sprintf("tmpfs-%d", i)
		vol, notes := tmpfsVolume(mount.Name, v)
		pv.add(vol)
		return mount, notes, true
	case types.VolumeTypeBind:
		vol, sub, note, ok := t.bind(name, i, v)
		if !ok {
			return mount, nil, false
		}
		mount.Name, mount.SubPath, mount.ReadOnly = vol.Name, sub, true
		pv.add(vol)
		return mount, []string{note}, true
	case types.VolumeTypeImage:
		mount.Name = fmt.Sprintf("image-%d", i)
		if v.Image != nil && v.Image.SubPath != "" {
			if mount.SubPath = relSubPath(v.Image.SubPath); mount.SubPath == "" {
				t.refuse(svcKey(name, "volumes", fmt.Sprint(i)), "service %q: image subpath %q leaves the image", name, v.Image.SubPath)
				return mount, nil, false
			}
		}
		mount.ReadOnly = true
		pv.add(corev1.Volume{Name: mount.Name, VolumeSource: corev1.VolumeSource{Image: &corev1.ImageVolumeSource{Reference: v.Source, PullPolicy: corev1.PullIfNotPresent}}})
		return mount, []string{fmt.Sprintf("image %s at %s: an image volume (read-only; needs the ImageVolume feature, Kubernetes 1.33+)", v.Source, v.Target)}, true
	default:
		t.refuse(svcKey(name, "volumes", fmt.Sprint(i)), "service %q: volume type %q at %s has no Kubernetes equivalent", name, v.Type, v.Target)
		return mount, nil, false
	}
}

// namedVolume maps a volume entry: an anonymous one to an emptyDir, a
// named one to its claim, or to a claim template when a StatefulSet is
// the volume's only user.
func (t *translator) namedVolume(name string, i int, v types.ServiceVolumeConfig, kind string, mount corev1.VolumeMount, pv *podVolumes) (corev1.VolumeMount, []string, bool) {
	if v.Source == "" {
		mount.Name = fmt.Sprintf("anon-%d", i)
		pv.add(corev1.Volume{Name: mount.Name, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
		return mount, []string{fmt.Sprintf("anonymous volume at %s: an emptyDir, which lives as long as the pod", v.Target)}, true
	}
	var notes []string
	mount.Name = withSuffix("vol", dnsLabel(v.Source))
	if v.Volume != nil && v.Volume.Subpath != "" {
		if mount.SubPath = relSubPath(v.Volume.Subpath); mount.SubPath == "" {
			t.refuse(svcKey(name, "volumes", fmt.Sprint(i)), "service %q: volume subpath %q leaves the volume", name, v.Volume.Subpath)
			return mount, nil, false
		}
	}
	claim := t.claimName(v.Source)
	if kind == kindStatefulSet && len(t.volUse[v.Source]) == 1 && !t.external(v.Source) {
		pv.claims = append(pv.claims, t.claimTemplate(mount.Name, v.Source))
		t.stsVolumes[v.Source] = name
		notes = append(notes, fmt.Sprintf("%s: volumeClaimTemplate %q, one claim per replica", v.Source, mount.Name))
	} else {
		pv.add(corev1.Volume{Name: mount.Name, VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim}}})
		if len(t.volUse[v.Source]) == 1 && !t.external(v.Source) {
			pv.rwo = true
		}
		notes = append(notes, fmt.Sprintf("%s: PersistentVolumeClaim %q at %s", v.Source, claim, v.Target))
	}
	if v.Volume == nil || !v.Volume.NoCopy {
		notes = append(notes, fmt.Sprintf("Kubernetes does not copy the image's files at %s into a new volume as Docker does", v.Target))
	}
	return mount, notes, true
}

// tmpfsVolume is the memory-backed emptyDir named name for a tmpfs
// mount, keeping its size as the sizeLimit; a mode is noted as dropped.
func tmpfsVolume(name string, v types.ServiceVolumeConfig) (corev1.Volume, []string) {
	var notes []string
	ed := &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory}
	if v.Tmpfs != nil && v.Tmpfs.Size > 0 {
		ed.SizeLimit = resource.NewQuantity(int64(v.Tmpfs.Size), resource.BinarySI)
	}
	if v.Tmpfs != nil && v.Tmpfs.Mode != 0 {
		notes = append(notes, fmt.Sprintf("tmpfs mode %o at %s dropped (emptyDir has none)", v.Tmpfs.Mode, v.Target))
	}
	notes = append(notes, fmt.Sprintf("tmpfs at %s: memory-backed emptyDir", v.Target))
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{EmptyDir: ed}}, notes
}

// tmpfsListVolume maps entry i of the tmpfs list ("/run:size=64m,mode=1777")
// to a memory-backed emptyDir and its mount; a size it can parse becomes
// the sizeLimit, other options are dropped.
func tmpfsListVolume(i int, tm string) (corev1.Volume, corev1.VolumeMount) {
	target, opts, _ := strings.Cut(tm, ":")
	n := fmt.Sprintf("tmpfs-list-%d", i)
	ed := &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory}
	for _, o := range strings.Split(opts, ",") {
		if size, ok := strings.CutPrefix(o, "size="); ok {
			if q, err := resource.ParseQuantity(strings.ToUpper(strings.TrimSuffix(size, "b")) + "i"); err == nil {
				ed.SizeLimit = &q
			}
		}
	}
	return corev1.Volume{Name: n, VolumeSource: corev1.VolumeSource{EmptyDir: ed}}, corev1.VolumeMount{Name: n, MountPath: target}
}

// claimTemplate is a StatefulSet's per-replica claim for a named volume.
func (t *translator) claimTemplate(claim, volume string) corev1.PersistentVolumeClaim {
	c := corev1.PersistentVolumeClaim{ObjectMeta: t.meta(claim)}
	c.APIVersion, c.Kind = "v1", "PersistentVolumeClaim"
	c.Spec = t.claimSpec(corev1.ReadWriteOnce)
	return c
}

func (t *translator) claimSpec(mode corev1.PersistentVolumeAccessMode) corev1.PersistentVolumeClaimSpec {
	spec := corev1.PersistentVolumeClaimSpec{
		AccessModes: []corev1.PersistentVolumeAccessMode{mode},
		Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(defaultClaimSize)}},
	}
	if t.o.StorageClass != "" {
		spec.StorageClassName = ptr.To(t.o.StorageClass)
	}
	return spec
}

// bind maps a bind mount: a regular file of the project, or a directory
// of the project holding only regular files, becomes a ConfigMap (a
// read-only copy taken now); anything else is refused.
func (t *translator) bind(name string, i int, v types.ServiceVolumeConfig) (vol corev1.Volume, subPath, note string, ok bool) {
	k := svcKey(name, "volumes", fmt.Sprint(i))
	src := v.Source
	rel, err := filepath.Rel(t.p.WorkingDir, src)
	if err != nil || t.p.WorkingDir == "" || rel == ".." || strings.HasPrefix(rel, "../") || !filepath.IsAbs(src) {
		t.refuse(k, "service %q: bind mount of host path %s (outside the project directory): a pod cannot see the files of the machine running berth; use a named volume, a config or a secret", name, src)
		return vol, "", "", false
	}
	fi, err := t.files.Stat(src)
	if err != nil {
		t.refuse(k, "service %q: bind mount source %s: %v", name, rel, pathErr(err))
		return vol, "", "", false
	}
	cm := t.configMapObject(withSuffix(t.names[name], fmt.Sprintf("bind-%d", i)))
	size := 0
	switch {
	case fi.Mode().IsRegular():
		data, err := t.files.ReadFile(src)
		if err != nil {
			t.refuse(k, "service %q: bind mount source %s: %v", name, rel, pathErr(err))
			return vol, "", "", false
		}
		key := configKey(filepath.Base(src))
		putData(cm, key, data)
		size = len(data)
		subPath = key
		vol = corev1.Volume{Name: fmt.Sprintf("bind-%d", i), VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: cm.Name}, Items: []corev1.KeyToPath{{Key: key, Path: key}}}}}
		note = fmt.Sprintf("file %s at %s: ConfigMap %q, a read-only copy of the file as it is now", rel, v.Target, cm.Name)
	case fi.IsDir():
		entries, err := t.files.ReadDir(src)
		if err != nil {
			t.refuse(k, "service %q: bind mount source %s: %v", name, rel, pathErr(err))
			return vol, "", "", false
		}
		for _, e := range entries {
			if e.Type()&fs.ModeType != 0 {
				t.refuse(k, "service %q: bind mount of directory %s holds %s, which is not a regular file: only files (flat) can become a ConfigMap; use a named volume", name, rel, path.Join(rel, e.Name()))
				return vol, "", "", false
			}
			data, err := t.files.ReadFile(filepath.Join(src, e.Name()))
			if err != nil {
				t.refuse(k, "service %q: bind mount source %s: %v", name, rel, pathErr(err))
				return vol, "", "", false
			}
			if configKey(e.Name()) != e.Name() {
				t.refuse(k, "service %q: bind mount of directory %s: file name %q cannot be a ConfigMap key", name, rel, e.Name())
				return vol, "", "", false
			}
			putData(cm, e.Name(), data)
			size += len(data)
		}
		vol = corev1.Volume{Name: fmt.Sprintf("bind-%d", i), VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: cm.Name}}}}
		note = fmt.Sprintf("directory %s at %s: ConfigMap %q, a read-only copy of its %d files as they are now", rel, v.Target, cm.Name, len(entries))
	default:
		t.refuse(k, "service %q: bind mount source %s is not a regular file or directory", name, rel)
		return vol, "", "", false
	}
	if size > maxConfigMapData {
		t.refuse(k, "service %q: bind mount source %s holds %d bytes, more than a ConfigMap may (1 MiB); use a named volume", name, rel, size)
		return vol, "", "", false
	}
	if !v.ReadOnly {
		note += " (the service mounted it read-write: writes now fail)"
	}
	t.add(cm, name, k...)
	return vol, subPath, note, true
}

func (t *translator) configMapObject(name string) *corev1.ConfigMap {
	return &corev1.ConfigMap{TypeMeta: typeMeta("v1", "ConfigMap"), ObjectMeta: t.meta(name)}
}

func putData(cm *corev1.ConfigMap, key string, data []byte) {
	if utf8.Valid(data) {
		if cm.Data == nil {
			cm.Data = map[string]string{}
		}
		cm.Data[key] = string(data)
		return
	}
	if cm.BinaryData == nil {
		cm.BinaryData = map[string][]byte{}
	}
	cm.BinaryData[key] = data
}

// configKey makes s a valid ConfigMap/Secret key ([-._a-zA-Z0-9]+).
func configKey(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	out := b.String()
	if out == "" || out == "." || out == ".." {
		out = "content"
	}
	return out
}

// pathErr is err without the absolute path a *fs.PathError repeats.
func pathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// projectVolumes makes the claims of the project's named volumes (those
// that are not a StatefulSet's claim templates) and reports on each.
func (t *translator) projectVolumes() {
	for _, n := range sortedKeys(t.p.Volumes) {
		v := t.p.Volumes[n]
		k := []string{"volumes", n}
		switch {
		case bool(v.External):
			t.approx(k, "external: expected to exist as PersistentVolumeClaim %q in the namespace", dnsLabel(v.Name))
			continue
		case t.stsVolumes[n] != "":
			t.mapped(k, "volumeClaimTemplate of StatefulSet %q: one %s ReadWriteOnce claim per replica", t.names[t.stsVolumes[n]], defaultClaimSize)
		default:
			mode, note := "ReadWriteOnce", ""
			users := t.volUse[n]
			if len(users) > 1 {
				mode, note = "ReadWriteMany", "; shared by "+strings.Join(users, ", ")+", so ReadWriteMany, which needs a storage class that supports it"
			}
			pvc := &corev1.PersistentVolumeClaim{TypeMeta: typeMeta("v1", "PersistentVolumeClaim"), ObjectMeta: t.meta(dnsLabel(n))}
			pvc.Spec = t.claimSpec(corev1.PersistentVolumeAccessMode(mode))
			pvc.Labels, _ = t.splitLabels(nil, v.Labels)
			t.add(pvc, "", k...)
			class := "the cluster's default storage class"
			if t.o.StorageClass != "" {
				class = "storage class " + t.o.StorageClass
			}
			t.approx(k, "PersistentVolumeClaim %q, %s, %s (compose volumes have no size), %s%s", pvc.Name, mode, defaultClaimSize, class, note)
		}
		if v.Driver != "" || len(v.DriverOpts) > 0 {
			t.dropped(append(k, "driver"), "the storage class decides how volumes are made")
		}
		if v.Name != "" && v.Name != t.p.Name+"_"+n {
			t.dropped(append(k, "name"), "the claim is named %q: Docker's volume name %q means nothing to Kubernetes", dnsLabel(n), v.Name)
		}
	}
}

// claimName is the PersistentVolumeClaim of a named volume.
func (t *translator) claimName(volume string) string {
	if vc, ok := t.p.Volumes[volume]; ok && bool(vc.External) && vc.Name != "" {
		return dnsLabel(vc.Name)
	}
	return dnsLabel(volume)
}

// volumesFrom mounts the named volumes of the services named in
// volumes_from at the same targets (read-only with :ro); their other
// mounts (binds, tmpfs, anonymous volumes) are not shared across pods.
func (t *translator) volumesFrom(name string, s types.ServiceConfig, pv *podVolumes) {
	if len(s.VolumesFrom) == 0 {
		return
	}
	k := svcKey(name, "volumes_from")
	var notes []string
	for _, vf := range s.VolumesFrom {
		src, mode, _ := strings.Cut(vf, ":")
		if src == "container" {
			t.refuse(k, "service %q mounts the volumes of container %s, which is not part of the project", name, mode)
			continue
		}
		ss, ok := t.p.Services[src]
		if !ok {
			t.refuse(k, "service %q mounts the volumes of %q, which is not in the project", name, src)
			continue
		}
		for _, v := range ss.Volumes {
			if v.Type != types.VolumeTypeVolume || v.Source == "" {
				notes = append(notes, fmt.Sprintf("%s's %s mount at %s not shared (only named volumes can be)", src, v.Type, v.Target))
				continue
			}
			vol := corev1.Volume{Name: withSuffix("vol", dnsLabel(v.Source)), VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: t.claimName(v.Source)}}}
			pv.add(vol)
			pv.mounts = append(pv.mounts, corev1.VolumeMount{Name: vol.Name, MountPath: v.Target, ReadOnly: v.ReadOnly || mode == "ro"})
			notes = append(notes, fmt.Sprintf("%s's volume %s at %s", src, v.Source, v.Target))
		}
	}
	if len(notes) > 0 {
		t.approx(k, "mounts %s (the claims are shared, so ReadWriteMany)", strings.Join(notes, "; "))
	}
}

// relSubPath is a compose subpath as Kubernetes wants it: relative,
// without "..". Docker takes "/foo" as "foo"; "" means it leaves the
// volume.
func relSubPath(p string) string {
	for _, seg := range strings.Split(p, "/") {
		if seg == ".." {
			return ""
		}
	}
	return strings.TrimPrefix(path.Clean("/"+p), "/")
}
