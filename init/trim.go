package pid1

import (
	"bufio"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// trim runs once, at the first quiet second after start-up (quiet.go): PID 1
// lives long, and what start-up used it will not need again.
//
//   - The heap the start-up burst freed goes back to the OS (FreeOSMemory).
//   - The pages of svinit's own code and read-only data leave its page
//     tables (MADV_DONTNEED on the binary's read-only mappings). When a page
//     is faulted in, the kernel also maps up to 15 cached neighbours
//     ("fault-around"), so after start-up most of the 3 MB binary appears
//     resident though little of it runs again. The pages stay in the page
//     cache; those svinit uses are mapped again on their next use (a minor
//     fault, no I/O). Writable mappings are never touched.
func trim() {
	debug.FreeOSMemory()
	for _, m := range readOnlyMappings() {
		_, _, _ = unix.Syscall(unix.SYS_MADVISE, m.start, m.length, unix.MADV_DONTNEED)
	}
}

type mapping struct{ start, length uintptr }

// readOnlyMappings are the executable's mappings that are not writable.
func readOnlyMappings() []mapping {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return nil
	}
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []mapping
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// 00400000-00573000 r-xp 00000000 08:01 1234 /sbin/svinit
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || fields[5] != exe || strings.Contains(fields[1], "w") {
			continue
		}
		lo, hi, ok := strings.Cut(fields[0], "-")
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if !ok || err1 != nil || err2 != nil || end <= start {
			continue
		}
		out = append(out, mapping{uintptr(start), uintptr(end - start)})
	}
	return out
}
