package image

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/renameio/v2"

	"github.com/berth-dev/berth/internal/fsutil"
)

// ErrDigestMismatch is wrapped when content does not hash to the digest
// that names it.
var ErrDigestMismatch = errors.New("digest mismatch")

// blobWriter writes a blob to a temp file beside its final path while
// hashing it; Commit verifies digest and size, then replaces atomically, so a
// partial or wrong blob is never visible under its name.
type blobWriter struct {
	f     *renameio.PendingFile
	h     hash.Hash
	n     int64
	want  v1.Hash
	size  int64 // expected size, -1 when unknown
	final string
}

func (s *Store) newBlobWriter(want v1.Hash, size int64) (*blobWriter, error) {
	if want.Algorithm != "sha256" {
		return nil, fmt.Errorf("blob %s: unsupported digest algorithm", want)
	}
	final := s.blobPath(want)
	f, err := renameio.NewPendingFile(final, renameio.WithTempDir(filepath.Dir(final)), renameio.WithStaticPermissions(0o600))
	if err != nil {
		return nil, fmt.Errorf("blob %s: %w", want, err)
	}
	return &blobWriter{f: f, h: sha256.New(), want: want, size: size, final: final}, nil
}

func (w *blobWriter) Write(p []byte) (int, error) {
	w.h.Write(p)
	n, err := w.f.Write(p)
	w.n += int64(n)
	return n, err
}

// Commit verifies what was written and makes the blob visible.
func (w *blobWriter) Commit() error {
	got := v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", w.h.Sum(nil))}
	if got != w.want {
		w.Abort()
		return fmt.Errorf("blob %s: %w: content hashes to %s", w.want, ErrDigestMismatch, got)
	}
	if w.size >= 0 && w.n != w.size {
		w.Abort()
		return fmt.Errorf("blob %s: size %d, expected %d", w.want, w.n, w.size)
	}
	// fsync, rename, then fsync the directory: the index that will name
	// this blob must not outlive it in a crash
	if err := w.f.CloseAtomicallyReplace(); err != nil {
		w.Abort()
		return fmt.Errorf("blob %s: %w", w.want, err)
	}
	if err := fsutil.SyncDir(filepath.Dir(w.final)); err != nil {
		return fmt.Errorf("blob %s: %w", w.want, err)
	}
	return nil
}

// Abort drops the temp file; safe to call after Commit.
func (w *blobWriter) Abort() {
	_ = w.f.Cleanup()
}

// writeBlob stores data under want unless that blob exists; created says
// whether this call made it.
func (s *Store) writeBlob(want v1.Hash, data []byte) (created bool, err error) {
	if _, err := os.Stat(s.blobPath(want)); err == nil {
		return false, nil
	}
	w, err := s.newBlobWriter(want, int64(len(data)))
	if err != nil {
		return false, err
	}
	if _, err := w.Write(data); err != nil {
		w.Abort()
		return false, fmt.Errorf("blob %s: %w", want, err)
	}
	if err := w.Commit(); err != nil {
		return false, err
	}
	return true, nil
}

func sha256Hash(data []byte) v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", sha256.Sum256(data))}
}

// chainIDs computes the chain ID of each layer from the diff IDs:
// chain(0) = diff(0), chain(n) = sha256(chain(n-1) + " " + diff(n)).
func chainIDs(diffIDs []v1.Hash) []v1.Hash {
	out := make([]v1.Hash, len(diffIDs))
	for i, d := range diffIDs {
		if i == 0 {
			out[i] = d
			continue
		}
		out[i] = sha256Hash([]byte(out[i-1].String() + " " + d.String()))
	}
	return out
}
