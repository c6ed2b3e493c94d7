package supervisor

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// The control path — a byte in supervise/control up to the signal to the
// service — makes its system calls raw: none of them can block (the FIFO is
// non-blocking, a stat does not wait), and a system call made through the
// runtime (unix.Read, os.Stat) first wakes the runtime's monitor thread
// (sysmon) from its sleep when every P was idle, which then runs 20 µs
// sleeps on the other CPU and contends for the scheduler's lock with the
// thread doing the work. Raw, a control byte costs one thread wake-up, as
// with daemontools' supervise.

// readNow reads a non-blocking fd: n ≤ 0 when there is nothing (EAGAIN) or
// on an error.
func readNow(fd int, buf []byte) int {
	n, _, errno := unix.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)))
	if errno != 0 {
		return -1
	}
	return int(n)
}

// isExecutableFile reports whether path is a regular file with an execute
// bit (fstatat, following symlinks, as stat(2)).
func isExecutableFile(path string) bool {
	p, err := unix.BytePtrFromString(path)
	if err != nil {
		return false
	}
	var st unix.Stat_t
	cwd := unix.AT_FDCWD
	_, _, errno := unix.RawSyscall6(unix.SYS_NEWFSTATAT, uintptr(cwd), uintptr(unsafe.Pointer(p)), uintptr(unsafe.Pointer(&st)), 0, 0, 0)
	return errno == 0 && st.Mode&unix.S_IFMT == unix.S_IFREG && st.Mode&0o111 != 0
}
