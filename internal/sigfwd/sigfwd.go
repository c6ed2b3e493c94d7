// Package sigfwd waits for a signal and passes it on from one thread,
// without stepping back into the Go scheduler in between — what tini does
// in C. A Go system call leaves the scheduler before it and must rejoin it
// after: on an idle svinit rejoining means taking an idle P and waking the
// runtime's monitor thread, which then competes with the forwarding thread
// for a CPU before the signal is sent on. Here the thread leaves the
// scheduler, waits, sends, waits again, and rejoins only for a signal that
// needs Go.
//
// It does so as package syscall's own Syscall does for a call known to
// block: runtime.entersyscallblock, raw system calls, runtime.exitsyscall.
// entersyscallblock hands the thread's P on at once (to a thread that runs
// the goroutine the caller just made runnable, typically the loop it handed
// a signal), where entersyscall would keep it until the runtime's monitor
// thread takes it back, 20 µs or more later. The Go team keeps those
// functions linkable on purpose (go.dev/issue/67401), so no linker flag is
// needed. Between them the code may not touch the Go runtime: no
// allocation, no stack growth (nosplit), no race instrumentation (norace);
// it only makes two raw system calls and compares integers.
package sigfwd

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

//go:linkname entersyscallblock runtime.entersyscallblock
func entersyscallblock()

//go:linkname exitsyscall runtime.exitsyscall
func exitsyscall()

// sigsetSize is the kernel's sigset_t: 64 signals.
const sigsetSize = 8

// Set is the signal set of sigs (bit N-1 for signal N).
func Set(sigs ...unix.Signal) *unix.Sigset_t {
	var set unix.Sigset_t
	for _, s := range sigs {
		set.Val[(s-1)/64] |= 1 << ((uint(s) - 1) % 64)
	}
	return &set
}

// WaitAndSend waits (rt_sigtimedwait, no timeout) for the signals in set;
// the calling thread need not block them (a signal that comes while it
// waits is taken either way; one blocked earlier is taken if still pending).
// While they are among direct (bit N-1
// for signal N) and pidfd is a pidfd (not -1), it sends them on through
// pidfd (pidfd_send_signal with flags: PIDFD_SIGNAL_PROCESS_GROUP sends to
// the process group the pidfd's process leads) and waits again, never rejoining the Go scheduler. It returns the
// first signal it did not send (not in direct, no pidfd, or the send
// failed), or the wait's error: EINTR when a handled signal, such as a
// SIGURG sent to this thread to make it reload pidfd, interrupted it.
// A pidfd names one process for good: once that process is gone the send
// fails (ESRCH) instead of reaching a process that took its pid.
//
//go:nosplit
//go:norace
func WaitAndSend(set *unix.Sigset_t, pidfd int, flags uint, direct uint64) (unix.Signal, unix.Errno) {
	entersyscallblock()
	for {
		n, _, errno := unix.RawSyscall6(unix.SYS_RT_SIGTIMEDWAIT, uintptr(unsafe.Pointer(set)), 0, 0, sigsetSize, 0, 0)
		if errno != 0 || pidfd < 0 || n < 1 || n > 64 || direct&(1<<(n-1)) == 0 {
			exitsyscall()
			return unix.Signal(n), errno
		}
		if _, _, e := unix.RawSyscall6(unix.SYS_PIDFD_SEND_SIGNAL, uintptr(pidfd), n, 0, uintptr(flags), 0, 0); e != 0 {
			exitsyscall()
			return unix.Signal(n), 0
		}
	}
}
