package devices

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime"
)

// The linker cache (/etc/ld.so.cache) in glibc's format since 2.32
// ("glibc-ld.so.cache1.1"), possibly after the old "ld.so-1.7.0" table.
// Only what discovery needs is read: for each entry, its name (the soname
// the loader looks up) and its path.
const (
	ldMagicOld = "ld.so-1.7.0"
	ldMagicNew = "glibc-ld.so.cache1.1"

	ldHeaderNew = 48 // magic+version 20, nlibs 4, len_strings 4, flags 1, pad 3, ext offset 4, unused 12
	ldEntryNew  = 24 // flags 4, key 4, value 4, osversion 4, hwcap 8
	ldEntryOld  = 12 // flags 4, key 4, value 4

	ldFlagELFLibc6 = 0x0003
	ldFlagTypeMask = 0x00ff
	ldFlagArchMask = 0xff00
	ldFlagX8664    = 0x0300
	ldFlagAArch64  = 0x0a00
)

// LinkerCache maps a library name to the paths the linker cache lists for it,
// in the cache's order (the loader takes the first).
type LinkerCache map[string][]string

// Lookup returns the first path of name, or "".
func (c LinkerCache) Lookup(name string) string {
	if p := c[name]; len(p) > 0 {
		return p[0]
	}
	return ""
}

// errNoCache says the linker cache is missing or not in a known format.
var errNoCache = errors.New("no linker cache")

// ReadLinkerCache reads and parses a linker cache file.
func ReadLinkerCache(path string) (LinkerCache, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errNoCache, err)
	}
	c, err := ParseLinkerCache(b, hostArchFlag())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// hostArchFlag is the cache's flag for 64-bit libraries of this machine.
func hostArchFlag() uint32 {
	if runtime.GOARCH == "arm64" {
		return ldFlagAArch64
	}
	return ldFlagX8664
}

// ParseLinkerCache parses a linker cache keeping the libc6 entries of arch
// (ldFlagX8664, ldFlagAArch64). Every offset is bounds-checked: a corrupt
// cache is an error, never a panic.
func ParseLinkerCache(b []byte, arch uint32) (LinkerCache, error) {
	start := 0
	if bytes.HasPrefix(b, []byte(ldMagicOld)) {
		// old table: magic (padded to 12), nlibs, entries; the new
		// header follows, 8-byte aligned.
		if len(b) < 16 {
			return nil, fmt.Errorf("%w: truncated header", errNoCache)
		}
		n := int(binary.LittleEndian.Uint32(b[12:16]))
		if n < 0 || n > len(b)/ldEntryOld {
			return nil, fmt.Errorf("%w: bad entry count", errNoCache)
		}
		start = 16 + n*ldEntryOld
		start = (start + 7) &^ 7
		if start > len(b) {
			return nil, fmt.Errorf("%w: truncated", errNoCache)
		}
		if !bytes.HasPrefix(b[start:], []byte(ldMagicNew)) {
			return nil, fmt.Errorf("%w: old format only (run ldconfig)", errNoCache)
		}
	}
	nb := b[start:]
	if !bytes.HasPrefix(nb, []byte(ldMagicNew)) || len(nb) < ldHeaderNew {
		return nil, fmt.Errorf("%w: unknown format", errNoCache)
	}
	n := binary.LittleEndian.Uint32(nb[20:24])
	if uint64(n)*ldEntryNew > uint64(len(nb)-ldHeaderNew) {
		return nil, fmt.Errorf("%w: %d entries do not fit", errNoCache, n)
	}
	str := func(off uint32) (string, bool) {
		if uint64(off) >= uint64(len(nb)) {
			return "", false
		}
		end := bytes.IndexByte(nb[off:], 0)
		if end < 0 {
			return "", false
		}
		return string(nb[off : int(off)+end]), true
	}
	c := LinkerCache{}
	for i := range int(n) {
		e := nb[ldHeaderNew+i*ldEntryNew:]
		flags := binary.LittleEndian.Uint32(e[0:4])
		if flags&ldFlagTypeMask != ldFlagELFLibc6 || flags&ldFlagArchMask != arch {
			continue
		}
		key, ok1 := str(binary.LittleEndian.Uint32(e[4:8]))
		val, ok2 := str(binary.LittleEndian.Uint32(e[8:12]))
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("%w: entry %d points outside the file", errNoCache, i)
		}
		c[key] = append(c[key], val)
	}
	return c, nil
}

// EncodeLinkerCache writes entries (name → path, in order) in the new
// format, for tests and tools that need a cache file.
func EncodeLinkerCache(entries [][2]string, arch uint32) []byte {
	var strs bytes.Buffer
	base := ldHeaderNew + len(entries)*ldEntryNew
	offs := make([][2]uint32, len(entries))
	for i, e := range entries {
		offs[i][0] = uint32(base + strs.Len())
		strs.WriteString(e[0] + "\x00")
		offs[i][1] = uint32(base + strs.Len())
		strs.WriteString(e[1] + "\x00")
	}
	out := make([]byte, base)
	copy(out, ldMagicNew)
	binary.LittleEndian.PutUint32(out[20:24], uint32(len(entries)))
	binary.LittleEndian.PutUint32(out[24:28], uint32(strs.Len()))
	for i := range entries {
		e := out[ldHeaderNew+i*ldEntryNew:]
		binary.LittleEndian.PutUint32(e[0:4], ldFlagELFLibc6|arch)
		binary.LittleEndian.PutUint32(e[4:8], offs[i][0])
		binary.LittleEndian.PutUint32(e[8:12], offs[i][1])
	}
	return append(out, strs.Bytes()...)
}
