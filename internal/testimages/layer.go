package testimages

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Epoch is the fixed time given to every file, layer and image made here,
// so that the same inputs always give the same digests.
var Epoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// File is one entry of a layer made by Layer.
type File struct {
	// Path inside the image, with or without a leading slash
	// ("etc/passwd", "/bin/sh"). Directories may end in "/".
	Path string
	// Type is the tar type flag; zero means a regular file
	// (tar.TypeReg). tar.TypeDir, tar.TypeSymlink, tar.TypeLink,
	// tar.TypeChar, tar.TypeBlock and tar.TypeFifo are accepted too.
	Type byte
	// Mode holds the permission bits, including setuid/setgid/sticky as
	// tar writes them (0o1777 for /tmp). Zero means 0644 for files and
	// 0755 for directories.
	Mode int64
	// Body is a regular file's content.
	Body []byte
	// Link is the target of a symlink or hardlink, written as given (a
	// hardlink's target is a path inside the layer, without a leading
	// slash; tests of hostile layers may give anything).
	Link     string
	UID, GID int
	// Major and Minor are a device node's numbers.
	Major, Minor int64
	// Xattrs are extended attributes written as PAX records
	// ("SCHILY.xattr.<name>").
	Xattrs map[string]string
}

// Dir is a directory entry with the given mode.
func Dir(p string, mode int64) File { return File{Path: p, Type: tar.TypeDir, Mode: mode} }

// Symlink is a symlink entry at p pointing to target.
func Symlink(p, target string) File { return File{Path: p, Type: tar.TypeSymlink, Link: target} }

// Reg is a regular file entry at p with the given content and mode.
func Reg(p string, mode int64, body string) File {
	return File{Path: p, Mode: mode, Body: []byte(body)}
}

// Tar writes files, in the order given, as an uncompressed tar stream with
// every mtime set to Epoch. Tests of layer unpacking use it to make
// whiteouts, opaque dirs, hardlinks and hostile entries alike.
func Tar(files ...File) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		hdr, err := header(f)
		if err != nil {
			return nil, err
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("tar entry %s: %w", f.Path, err)
		}
		if hdr.Typeflag == tar.TypeReg && len(f.Body) > 0 {
			if _, err := tw.Write(f.Body); err != nil {
				return nil, fmt.Errorf("tar entry %s: %w", f.Path, err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("tar: %w", err)
	}
	return buf.Bytes(), nil
}

func header(f File) (*tar.Header, error) {
	name := strings.TrimPrefix(f.Path, "/")
	if name == "" {
		return nil, fmt.Errorf("tar entry with an empty path")
	}
	typ := f.Type
	if typ == 0 {
		typ = tar.TypeReg
	}
	mode := f.Mode
	if mode == 0 {
		mode = 0o644
		if typ == tar.TypeDir {
			mode = 0o755
		}
		if typ == tar.TypeSymlink {
			mode = 0o777
		}
	}
	hdr := &tar.Header{
		Typeflag: typ,
		Name:     name,
		Linkname: f.Link,
		Mode:     mode,
		Uid:      f.UID,
		Gid:      f.GID,
		ModTime:  Epoch,
		Devmajor: f.Major,
		Devminor: f.Minor,
		Format:   tar.FormatPAX,
	}
	switch typ {
	case tar.TypeDir:
		if !strings.HasSuffix(hdr.Name, "/") {
			hdr.Name += "/"
		}
	case tar.TypeReg:
		hdr.Size = int64(len(f.Body))
	case tar.TypeSymlink, tar.TypeLink:
		if f.Link == "" {
			return nil, fmt.Errorf("tar entry %s: link without a target", f.Path)
		}
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
	default:
		return nil, fmt.Errorf("tar entry %s: unsupported type %q", f.Path, typ)
	}
	if len(f.Xattrs) > 0 {
		hdr.PAXRecords = map[string]string{}
		for k, v := range f.Xattrs {
			hdr.PAXRecords["SCHILY.xattr."+k] = v
		}
	}
	return hdr, nil
}

// Layer makes a gzip-compressed image layer of files (see Tar). Its digest
// depends only on files.
func Layer(files ...File) (v1.Layer, error) {
	b, err := Tar(files...)
	if err != nil {
		return nil, err
	}
	return LayerFromTar(b)
}

// LayerFromTar makes a gzip-compressed image layer of an uncompressed tar
// stream.
func LayerFromTar(b []byte) (v1.Layer, error) {
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(b)), nil
	}, tarball.WithCompressedCaching)
	if err != nil {
		return nil, fmt.Errorf("layer: %w", err)
	}
	return plainLayer{l}, nil
}

// plainLayer hides the tarball layer's Descriptor method, whose empty
// (non-nil) annotations map would make the in-memory manifest differ from
// its own JSON and fail validate.Image.
type plainLayer struct{ v1.Layer }
