package supervisor

import (
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The probes' system calls on the loop never block — non-blocking sockets,
// the memfd — so they are made raw, as reaper.wait4NoHang is: an ordinary
// one (unix.Connect, os.File.ReadAt...) wakes Go's sysmon thread when it
// sleeps, and sysmon then wakes every 20 µs while the loop works, several
// times the cost of the probe itself on a VM.

func errnoErr(e unix.Errno) error {
	if e != 0 {
		return e
	}
	return nil
}

func rawSocket(family int) (int, error) {
	fd, _, e := unix.RawSyscall(unix.SYS_SOCKET, uintptr(family), unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	return int(fd), errnoErr(e)
}

// rawConnect is connect(2) to ap (an IPv6 zone: its interface index).
func rawConnect(fd int, ap netip.AddrPort, zone uint32) error {
	port := ap.Port()
	if a := ap.Addr().Unmap(); a.Is4() {
		sa := unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: a.As4()}
		p := (*[2]byte)(unsafe.Pointer(&sa.Port))
		p[0], p[1] = byte(port>>8), byte(port)
		_, _, e := unix.RawSyscall(unix.SYS_CONNECT, uintptr(fd), uintptr(unsafe.Pointer(&sa)), unix.SizeofSockaddrInet4)
		return errnoErr(e)
	}
	sa := unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: ap.Addr().As16(), Scope_id: zone}
	p := (*[2]byte)(unsafe.Pointer(&sa.Port))
	p[0], p[1] = byte(port>>8), byte(port)
	_, _, e := unix.RawSyscall(unix.SYS_CONNECT, uintptr(fd), uintptr(unsafe.Pointer(&sa)), unix.SizeofSockaddrInet6)
	return errnoErr(e)
}

func rawRead(fd int, b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	n, _, e := unix.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	return int(n), errnoErr(e)
}

func rawWrite(fd int, b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	n, _, e := unix.RawSyscall(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	return int(n), errnoErr(e)
}

func rawPread(fd int, b []byte, off int64) (int, error) {
	n, _, e := unix.RawSyscall6(unix.SYS_PREAD64, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), uintptr(off), 0, 0)
	return int(n), errnoErr(e)
}

func rawClose(fd int) {
	_, _, _ = unix.RawSyscall(unix.SYS_CLOSE, uintptr(fd), 0, 0)
}

// rawEmpty empties a regular file and puts its offset back at 0.
func rawEmpty(fd int) error {
	if _, _, e := unix.RawSyscall(unix.SYS_FTRUNCATE, uintptr(fd), 0, 0); e != 0 {
		return e
	}
	_, _, e := unix.RawSyscall(unix.SYS_LSEEK, uintptr(fd), 0, 0)
	return errnoErr(e)
}
