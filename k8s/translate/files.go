package translate

import (
	"fmt"
	"path"
	"path/filepath"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

// fileObject is the ConfigMap or Secret made from a top-level config or
// secret, and the key its content is under.
type fileObject struct {
	name, key string
	ok        bool // false: refused, do not mount
}

// fileRefs mounts a service's configs (ConfigMaps) and secrets (Secrets)
// at their targets: configs at /<name> unless a target is given, secrets
// under /run/secrets.
func (t *translator) fileRefs(name string, s types.ServiceConfig, pv *podVolumes) {
	mount := func(kind string, i int, source, target string, mode *types.FileMode, uid, gid string) {
		fo := t.fileObject(kind, source)
		if !fo.ok {
			return
		}
		k := svcKey(name, kind, fmt.Sprint(i))
		vname := withSuffix(strings.TrimSuffix(kind, "s"), dnsLabel(source))
		item := corev1.KeyToPath{Key: fo.key, Path: fo.key}
		if mode != nil {
			item.Mode = ptr.To(int32(*mode))
		}
		var vs corev1.VolumeSource
		if kind == "configs" {
			vs.ConfigMap = &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: fo.name}, Items: []corev1.KeyToPath{item}}
		} else {
			vs.Secret = &corev1.SecretVolumeSource{SecretName: fo.name, Items: []corev1.KeyToPath{item}}
		}
		// One pod volume per source and mode; mounts pick the key by
		// subPath.
		if mode != nil {
			vname = withSuffix(vname, fmt.Sprintf("%o", *mode))
		}
		pv.add(corev1.Volume{Name: vname, VolumeSource: vs})
		pv.mounts = append(pv.mounts, corev1.VolumeMount{Name: vname, MountPath: target, SubPath: fo.key, ReadOnly: true})
		if uid != "" || gid != "" {
			t.approx(k, "mounted at %s from %q; uid/gid dropped (the file belongs to root, or to the pod's fsGroup)", target, fo.name)
		} else {
			t.mapped(k, "mounted at %s from %q", target, fo.name)
		}
	}
	for i, c := range s.Configs {
		target := c.Target
		if target == "" {
			target = "/" + c.Source
		} else if !path.IsAbs(target) {
			target = "/" + target
		}
		mount("configs", i, c.Source, target, c.Mode, c.UID, c.GID)
	}
	for i, c := range s.Secrets {
		target := c.Target
		if target == "" {
			target = "/run/secrets/" + c.Source
		} else if !path.IsAbs(target) {
			target = "/run/secrets/" + target
		}
		mount("secrets", i, c.Source, target, c.Mode, c.UID, c.GID)
	}
	if len(s.Configs) > 0 {
		t.mapped(svcKey(name, "configs"), "ConfigMap volumes mounted at the same targets")
	}
	if len(s.Secrets) > 0 {
		t.mapped(svcKey(name, "secrets"), "Secret volumes mounted at the same targets")
	}
}

// fileObject makes (once) the ConfigMap or Secret of a top-level config
// or secret.
func (t *translator) fileObject(kind, source string) fileObject {
	id := kind + "/" + source
	if fo, done := t.fileObjects[id]; done {
		return fo
	}
	var def types.FileObjectConfig
	switch kind {
	case "configs":
		def = types.FileObjectConfig(t.p.Configs[source])
	default:
		def = types.FileObjectConfig(t.p.Secrets[source])
	}
	k := []string{kind, source}
	fo := fileObject{name: withSuffix(strings.TrimSuffix(kind, "s"), dnsLabel(source)), key: configKey(source), ok: true}
	var data []byte
	var from string
	switch {
	case bool(def.External):
		fo.name = dnsLabel(def.Name)
		if def.Name == "" {
			fo.name = dnsLabel(source)
		}
		t.approx(k, "external: expected to exist as %s %q in the namespace, with key %q", objKind(kind), fo.name, fo.key)
		t.fileObjects[id] = fo
		return fo
	case def.File != "":
		b, err := t.files.ReadFile(def.File)
		if err != nil {
			t.refuse(append(k, "file"), "%s %q: file %s: %v", strings.TrimSuffix(kind, "s"), source, relTo(t.p.WorkingDir, def.File), pathErr(err))
			fo.ok = false
			t.fileObjects[id] = fo
			return fo
		}
		data, fo.key = b, configKey(filepath.Base(def.File))
		from = "file " + relTo(t.p.WorkingDir, def.File)
	case def.Environment != "":
		v, ok := t.p.Environment[def.Environment]
		if !ok {
			t.refuse(append(k, "environment"), "%s %q: variable %s is not set", strings.TrimSuffix(kind, "s"), source, def.Environment)
			fo.ok = false
			t.fileObjects[id] = fo
			return fo
		}
		data, from = []byte(v), "variable "+def.Environment
	default:
		data, from = []byte(def.Content), "inline content"
	}
	if len(data) > maxConfigMapData {
		t.refuse(k, "%s %q is %d bytes, more than a %s may hold (1 MiB)", strings.TrimSuffix(kind, "s"), source, len(data), objKind(kind))
		fo.ok = false
		t.fileObjects[id] = fo
		return fo
	}
	if kind == "configs" {
		cm := t.configMapObject(fo.name)
		putData(cm, fo.key, data)
		t.add(cm, "", k...)
	} else {
		sec := &corev1.Secret{TypeMeta: typeMeta("v1", "Secret"), ObjectMeta: t.meta(fo.name), Type: corev1.SecretTypeOpaque,
			Data: map[string][]byte{fo.key: data}}
		t.add(sec, "", k...)
	}
	t.mapped(k, "%s %q from %s (key %q)", objKind(kind), fo.name, from, fo.key)
	if def.TemplateDriver != "" || def.Driver != "" || len(def.DriverOpts) > 0 {
		t.dropped(k, "driver/template_driver: the content is taken as is")
	}
	t.fileObjects[id] = fo
	return fo
}

func objKind(kind string) string {
	if kind == "configs" {
		return "ConfigMap"
	}
	return "Secret"
}

func relTo(dir, p string) string {
	if r, err := filepath.Rel(dir, p); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return p
}
