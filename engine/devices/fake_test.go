package devices

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// fakeHost is a fake host root: /dev nodes, a linker cache, driver
// libraries and binaries, /proc/driver/nvidia, built by the test.
type fakeHost struct {
	t    *testing.T
	root string
}

func newFakeHost(t *testing.T) *fakeHost {
	t.Helper()
	return &fakeHost{t: t, root: t.TempDir()}
}

func (h *fakeHost) path(p string) string { return filepath.Join(h.root, p) }

func (h *fakeHost) mkdir(p string) {
	h.t.Helper()
	if err := os.MkdirAll(h.path(p), 0o755); err != nil {
		h.t.Fatal(err)
	}
}

// mknod makes a char device node (needs CAP_MKNOD: the tests run as root).
func (h *fakeHost) mknod(p string, major, minor uint32) {
	h.t.Helper()
	h.mkdir(filepath.Dir(p))
	if err := unix.Mknod(h.path(p), unix.S_IFCHR|0o666, int(unix.Mkdev(major, minor))); err != nil {
		if err == unix.EPERM {
			h.t.Skip("mknod needs CAP_MKNOD (run as root)")
		}
		h.t.Fatal(err)
	}
}

func (h *fakeHost) file(p, content string, mode os.FileMode) {
	h.t.Helper()
	h.mkdir(filepath.Dir(p))
	if err := os.WriteFile(h.path(p), []byte(content), mode); err != nil {
		h.t.Fatal(err)
	}
}

func (h *fakeHost) symlink(target, p string) {
	h.t.Helper()
	h.mkdir(filepath.Dir(p))
	if err := os.Symlink(target, h.path(p)); err != nil {
		h.t.Fatal(err)
	}
}

func (h *fakeHost) ldcache(entries ...[2]string) {
	h.t.Helper()
	h.file("/etc/ld.so.cache", string(EncodeLinkerCache(entries, hostArchFlag())), 0o644)
}

const fakeVersion = "550.54.15"

// nvidia lays out a driver as the GPU machine has it: libraries in
// /usr/local/nvidia/lib64, the real nvidia-smi in /usr/local/nvidia/bin,
// a wrapper script at /usr/bin/nvidia-smi, n GPUs (with /proc info when
// proc is set, bus order not minor order).
func (h *fakeHost) nvidia(n int, proc bool) {
	h.mknod("/dev/nvidiactl", 195, 255)
	h.mknod("/dev/nvidia-uvm", 510, 0)
	for i := range n {
		h.mknod(fmt.Sprintf("/dev/nvidia%d", i), 195, uint32(i))
		if proc {
			bus := fmt.Sprintf("0000:%02x:00.0", 0x10+i)
			h.file("/proc/driver/nvidia/gpus/"+bus+"/information", fmt.Sprintf(
				"Model: \t\t NVIDIA H200\nIRQ:   \t\t 42\nGPU UUID: \t GPU-%08d-aaaa-bbbb-cccc-dddddddddddd\nDevice Minor: \t %d\n", i, i), 0o444)
		}
	}
	lib := "/usr/local/nvidia/lib64"
	for _, l := range []string{"libnvidia-ml", "libcuda", "libnvidia-ptxjitcompiler"} {
		h.file(lib+"/"+l+".so."+fakeVersion, "\x7fELF lib", 0o755)
		h.symlink(l+".so."+fakeVersion, lib+"/"+l+".so.1")
	}
	// an old driver's library left in the cache, and the distro's libc
	h.file("/usr/lib/x86_64-linux-gnu/libnvidia-old.so.470.1.2", "\x7fELF", 0o644)
	h.file("/usr/lib/x86_64-linux-gnu/libc.so.6", "\x7fELF", 0o644)
	h.ldcache(
		[2]string{"libnvidia-ml.so.1", lib + "/libnvidia-ml.so.1"},
		[2]string{"libcuda.so.1", lib + "/libcuda.so.1"},
		[2]string{"libnvidia-ptxjitcompiler.so.1", lib + "/libnvidia-ptxjitcompiler.so.1"},
		[2]string{"libnvidia-old.so.1", "/usr/lib/x86_64-linux-gnu/libnvidia-old.so.470.1.2"},
		[2]string{"libc.so.6", "/usr/lib/x86_64-linux-gnu/libc.so.6"},
	)
	h.file("/usr/bin/nvidia-smi", "#!/bin/sh\nexec /usr/local/nvidia/bin/nvidia-smi \"$@\"\n", 0o755)
	h.file("/usr/local/nvidia/bin/nvidia-smi", "\x7fELF smi", 0o755)
	h.file("/usr/local/nvidia/bin/nvidia-debugdump", "\x7fELF dd", 0o755)
}
