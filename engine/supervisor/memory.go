package supervisor

import (
	"bufio"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// trimResident drops this process's clean file-backed pages of its own
// executable from memory (MADV_PAGEOUT). The supervisor is the whole berth
// binary, and starting it touches much code it never runs again (command
// parsing, compose loading, package init); what it does need faults back
// in. It keeps the supervisor's resident size near its real working set.
func trimResident() {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return
	}
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || fields[5] != exe {
			continue
		}
		lo, hi, ok := strings.Cut(fields[0], "-")
		if !ok {
			continue
		}
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || end <= start {
			continue
		}
		if strings.Contains(fields[1], "w") {
			madvisePageout(uintptr(start), uintptr(end-start))
		} else {
			dropMapping(uintptr(start), uintptr(end-start))
		}
	}
}

// dropMapping unmaps the pages of a read-only file mapping from this
// process (MADV_DONTNEED); they stay in the page cache and fault back in
// from it when touched. MADV_PAGEOUT leaves pages alone that another
// process maps too, and the keeper maps the same binary: this works
// whether or not it does. Never for a writable mapping, whose private
// pages would be lost.
func dropMapping(addr, length uintptr) {
	unix.Syscall(unix.SYS_MADVISE, addr, length, unix.MADV_DONTNEED)
}

func madvisePageout(addr, length uintptr) {
	// MADV_PAGEOUT (Linux 5.4+) reclaims only clean pages here; on older
	// kernels the call fails harmlessly.
	unix.Syscall(unix.SYS_MADVISE, addr, length, unix.MADV_PAGEOUT)
}
