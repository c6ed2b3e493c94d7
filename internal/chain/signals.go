package chain

import (
	"syscall"
	"unsafe"
)

// startSignals is what the signals of this process were when it started,
// before the Go runtime set its own: the blocked ones and the ignored ones
// (bit N-1 for signal N). Known is false where the runtime cannot tell.
type startSignals struct {
	known   bool
	mask    uint64
	ignored uint64
}

// kernelSigaction is the kernel's struct sigaction on amd64 and arm64.
type kernelSigaction struct {
	handler  uintptr
	flags    uint64
	restorer uintptr
	mask     uint64
}

// sigIgn is SIG_IGN.
const sigIgn = 1

// restore puts the ignored signals and this thread's mask back as they
// were at start-up; it makes only raw system calls and allocates nothing.
// A signal the caller caught (not ignored) needs nothing: the execve resets
// it to the default whatever handler it has now.
func (s *startSignals) restore() {
	if !s.known {
		return
	}
	act := kernelSigaction{handler: sigIgn}
	for sig := 1; sig <= 64; sig++ {
		if s.ignored&(1<<(sig-1)) == 0 || sig == int(syscall.SIGKILL) || sig == int(syscall.SIGSTOP) {
			continue
		}
		syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&act)), 0, 8, 0, 0)
	}
	syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, 2 /* SIG_SETMASK */, uintptr(unsafe.Pointer(&s.mask)), 0, 8, 0, 0)
}

// SignalsAtStart is the signal mask and the ignored signals (bit N-1 for
// signal N) this process started with, before the Go runtime changed them;
// known is false in a build that cannot tell (signals_plain.go).
func SignalsAtStart() (mask, ignored uint64, known bool) {
	s := signalsAtStart()
	return s.mask, s.ignored, s.known
}
